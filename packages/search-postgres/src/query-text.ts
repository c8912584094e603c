/**
 * A word no user types, standing in for the last word of a query while `websearch_to_tsquery`
 * parses the rest. It is a "numword" token (letters and a digit), which every built-in text
 * search configuration passes through the `simple` dictionary, so it survives unchanged; the
 * prefix form of the real last word then replaces it with `ts_rewrite`.
 */
export const LAST_WORD_PLACEHOLDER = 'fraiseqlprefix0q';

export interface SplitQuery {
  /** What `websearch_to_tsquery` parses: the query, with the last word replaced by the placeholder when it is a prefix. */
  text: string;
  /** The last word, matched as a prefix; absent when the query does not end in a plain word. */
  last?: string;
}

/**
 * Splits a user query for "websearch syntax + prefix match of the last word".
 *
 * The last whitespace-separated token is a prefix (search as you type) unless the query ends in
 * whitespace (the word is finished), the token is part of a quoted phrase, a negation (`-word`)
 * or the operator `or`. Its position in the websearch parse is kept (so `coffee or mu` stays an
 * OR) by parsing a placeholder there. The token itself never reaches a tsquery parser: the
 * provider turns it into lexemes with `to_tsvector` and builds the prefix query from those, so
 * `foo:*`, `!`, `&`, quotes or parentheses typed by a user cannot change the query's structure.
 */
export function splitQuery(query: string): SplitQuery {
  if (/\s$/u.test(query)) return { text: query };
  const match = /(?:^|\s)(\S+)$/u.exec(query);
  if (!match) return { text: query };
  const token = match[1]!;
  const before = query.slice(0, query.length - token.length);
  if (token.includes('"') || token.startsWith('-') || token.toLowerCase() === 'or') return { text: query };
  // An odd number of quotes before it: the token is inside an unclosed phrase.
  if ((before.match(/"/g)?.length ?? 0) % 2 === 1) return { text: query };
  return { text: `${before}${LAST_WORD_PLACEHOLDER}`, last: token };
}
