/**
 * Text handling in the Algolia protocol double: tokens folded to lower case without accents,
 * query words (`prefixLast`/`prefixAll`/`prefixNone`), word matching with optional typo tolerance
 * and `_highlightResult` values.
 */

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

export interface Token {
  /** Folded (lower-case, accents removed) form. */
  norm: string;
  start: number;
  end: number;
}

export function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD))
    out.push({ norm: fold(m[0]), start: m.index, end: m.index + m[0].length });
  return out;
}

/** Damerau-free Levenshtein distance, giving up past `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]!);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

export interface QueryWord {
  norm: string;
  prefix: boolean;
}

export interface WordMatchOptions {
  typos: boolean;
  minFor1: number;
  minFor2: number;
}

/** How a query word matches a token: the number of original characters to highlight, or -1. */
export function matchToken(
  word: QueryWord,
  token: Token,
  text: string,
  o: WordMatchOptions,
): { len: number; exact: boolean } | undefined {
  if (token.norm === word.norm) return { len: token.end - token.start, exact: true };
  if (word.prefix && token.norm.startsWith(word.norm)) {
    // Highlight as many original characters as it takes to cover the folded prefix.
    const original = text.slice(token.start, token.end);
    let n = 0;
    while (n < original.length && fold(original.slice(0, n)).length < word.norm.length) n++;
    return { len: n, exact: false };
  }
  if (o.typos && word.norm.length >= o.minFor1) {
    const allowed = word.norm.length >= o.minFor2 ? 2 : 1;
    if (distance(word.norm, token.norm, allowed) <= allowed)
      return { len: token.end - token.start, exact: false };
  }
  return undefined;
}

export function parseQuery(query: string, queryType: string): QueryWord[] {
  const words = [...query.matchAll(WORD)].map((m) => fold(m[0]));
  const endsWithSeparator = /[^\p{L}\p{N}\p{M}]$/u.test(query);
  return words.map((norm, i) => ({
    norm,
    prefix:
      queryType === 'prefixAll' ||
      (queryType !== 'prefixNone' && i === words.length - 1 && !endsWithSeparator),
  }));
}

/** Every string (numbers included, as text) under an attribute value. */
export function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(texts);
  if (value && typeof value === 'object') return Object.values(value).flatMap(texts);
  return [];
}

export function highlightValue(
  value: unknown,
  words: QueryWord[],
  o: WordMatchOptions,
  pre: string,
  post: string,
): unknown {
  if (Array.isArray(value)) return value.map((v) => highlightValue(v, words, o, pre, post));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, highlightValue(v, words, o, pre, post)]),
    );
  }
  if (value === null || value === undefined) return undefined;
  const text = String(value);
  const matched = new Set<string>();
  let out = '';
  let last = 0;
  let highlighted = 0;
  for (const t of tokens(text)) {
    let best: { len: number } | undefined;
    for (const w of words) {
      const m = matchToken(w, t, text, o);
      if (m && (!best || m.len > best.len)) best = m;
      if (m) matched.add(w.norm);
    }
    if (best && best.len > 0) {
      out += text.slice(last, t.start) + pre + text.slice(t.start, t.start + best.len) + post;
      last = t.start + best.len;
      highlighted += best.len;
    }
  }
  out += text.slice(last);
  const matchLevel =
    matched.size === 0
      ? 'none'
      : matched.size === new Set(words.map((w) => w.norm)).size
        ? 'full'
        : 'partial';
  const result: Record<string, unknown> = {
    value: out,
    matchLevel,
    matchedWords: words.filter((w) => matched.has(w.norm)).map((w) => w.norm),
  };
  if (matchLevel !== 'none') {
    result.fullyHighlighted = highlighted === text.replace(/[^\p{L}\p{N}\p{M}]/gu, '').length;
  }
  return result;
}
