/**
 * Text handling in the Meilisearch protocol double: tokenisation with charabia's Latin
 * normalisation, query words (prefix on the last one), word matching and `_formatted` highlighting.
 */

export interface Token {
  /** Lower-cased, diacritics removed (charabia's Latin normalisation). */
  norm: string;
  start: number;
  end: number;
  /** Per code point of the original: its start offset and how many normalized chars it gives. */
  chars: { start: number; len: number }[];
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

function normChar(ch: string): string {
  return ch.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    let norm = '';
    const chars: Token['chars'] = [];
    let offset = m.index;
    for (const ch of m[0]) {
      const n = normChar(ch);
      chars.push({ start: offset, len: n.length });
      norm += n;
      offset += ch.length;
    }
    if (norm.length > 0) out.push({ norm, start: m.index, end: m.index + m[0].length, chars });
  }
  return out;
}

export interface QueryWord {
  norm: string;
  prefix: boolean;
}

export function queryWords(q: string): QueryWord[] {
  const tokens = tokenize(q);
  // Search-as-you-type: the last word is a prefix unless the query ends with a separator.
  const endsInWord = /[\p{L}\p{N}\p{M}]$/u.test(q);
  return tokens.map((t, i) => ({ norm: t.norm, prefix: endsInWord && i === tokens.length - 1 }));
}

/** How a query word matches a token: 2 exactly, 1 as a prefix, 0 not. */
export function matchKind(word: QueryWord, token: string): 0 | 1 | 2 {
  if (token === word.norm) return 2;
  return word.prefix && token.startsWith(word.norm) ? 1 : 0;
}

export function textsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean') out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) textsOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) textsOf(v, out);
  return out;
}

/** Wraps the matched part of every matching word of `text` in the tags. */
export function highlight(text: string, words: QueryWord[], pre: string, post: string): string {
  if (words.length === 0) return text;
  let out = '';
  let last = 0;
  for (const token of tokenize(text)) {
    let best: 0 | 1 | 2 = 0;
    let prefixLen = 0;
    for (const w of words) {
      const k = matchKind(w, token.norm);
      if (k > best) best = k;
      if (k === 1) prefixLen = Math.max(prefixLen, w.norm.length);
    }
    if (best === 0) continue;
    let end = token.end;
    if (best === 1) {
      // Only the typed prefix is marked, mapped back from normalized to original characters.
      let acc = 0;
      for (const c of token.chars) {
        if (acc >= prefixLen) {
          end = c.start;
          break;
        }
        acc += c.len;
      }
    }
    out += text.slice(last, token.start) + pre + text.slice(token.start, end) + post;
    last = end;
  }
  return out + text.slice(last);
}

/** `_formatted` values: strings highlighted when asked, numbers turned into strings (as the engine does). */
export function formatValue(v: unknown, words: QueryWord[], pre: string, post: string): unknown {
  if (typeof v === 'string') return highlight(v, words, pre, post);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map((x) => formatValue(x, words, pre, post));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, formatValue(x, words, pre, post)]));
  }
  return v;
}
