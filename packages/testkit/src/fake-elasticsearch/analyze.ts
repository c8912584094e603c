/**
 * The `standard` analyzer of the double: Unicode word tokens (letters, digits, marks, with
 * apostrophes and dots inside a word kept, as UAX #29 does for "O'Reilly" or "3.5"), lower-cased.
 * Unlike Meilisearch, Elasticsearch's standard analyzer does not fold diacritics: "brûlée" stays
 * "brûlée".
 */
export interface Token {
  term: string;
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{N}\p{M}]+(?:['.’][\p{L}\p{N}\p{M}]+)*/gu;

export function analyze(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    out.push({ term: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export const terms = (text: string): string[] => analyze(text).map((t) => t.term);

/** A term a text query looks for: exact, or (match_bool_prefix's last term, prefix query) a prefix. */
export interface QueryTerm {
  term: string;
  prefix: boolean;
}

export const termMatches = (q: QueryTerm, token: string): boolean =>
  q.prefix ? token.startsWith(q.term) : token === q.term;

/** Wraps every token of `text` that one of `qs` matches in the tags (whole tokens, as the unified highlighter does). */
export function highlightText(
  text: string,
  qs: readonly QueryTerm[],
  pre: string,
  post: string,
): string | undefined {
  let out = '';
  let last = 0;
  let hit = false;
  for (const t of analyze(text)) {
    if (!qs.some((q) => termMatches(q, t.term))) continue;
    hit = true;
    out += text.slice(last, t.start) + pre + text.slice(t.start, t.end) + post;
    last = t.end;
  }
  return hit ? out + text.slice(last) : undefined;
}
