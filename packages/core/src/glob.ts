/**
 * The cache's pattern language, shared by every backend: `*` any run of characters, `?` one
 * character, `\` escapes the next character; everything else (`[`, `]`, `%`, `_`, …) is literal.
 */
export type GlobToken = { type: 'literal'; value: string } | { type: 'any' } | { type: 'one' };

export function parseGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  let literal = '';
  const flush = () => {
    if (literal) tokens.push({ type: 'literal', value: literal });
    literal = '';
  };
  const chars = Array.from(pattern); // code points, so `?` matches one character, not half a surrogate pair
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      // A trailing backslash stands for itself.
      literal += i + 1 < chars.length ? chars[++i] : '\\';
    } else if (c === '*') {
      flush();
      if (tokens.at(-1)?.type !== 'any') tokens.push({ type: 'any' });
    } else if (c === '?') {
      flush();
      tokens.push({ type: 'one' });
    } else literal += c;
  }
  flush();
  return tokens;
}

// Only syntax characters: with the `u` flag an escaped `-` (or any other identity escape) is a SyntaxError.
const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** An anchored RegExp for the glob (with the `u` flag so `?` is one code point). */
export function globToRegExp(pattern: string): RegExp {
  const body = parseGlob(pattern)
    .map((t) =>
      t.type === 'any' ? '[\\s\\S]*' : t.type === 'one' ? '[\\s\\S]' : t.value.replace(REGEX_SPECIAL, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`, 'u');
}

/** A SQL `LIKE` pattern for the glob, to be used with `ESCAPE '\'`. */
export function globToLike(pattern: string): string {
  return parseGlob(pattern)
    .map((t) => (t.type === 'any' ? '%' : t.type === 'one' ? '_' : t.value.replace(/[\\%_]/g, '\\$&')))
    .join('');
}

/** A Redis `MATCH` pattern for the glob (Redis also treats `[`, `]` and `^` specially, so they are escaped). */
export function globToRedisPattern(pattern: string): string {
  return parseGlob(pattern)
    .map((t) => (t.type === 'any' ? '*' : t.type === 'one' ? '?' : t.value.replace(/[\\*?[\]^]/g, '\\$&')))
    .join('');
}

/** True when the pattern has no wildcard, so it names exactly one key. */
export function isLiteralGlob(pattern: string): boolean {
  return parseGlob(pattern).every((t) => t.type === 'literal');
}

/** The literal text before the first wildcard: lets backends narrow a scan by prefix. */
export function globLiteralPrefix(pattern: string): string {
  let prefix = '';
  for (const t of parseGlob(pattern)) {
    if (t.type !== 'literal') break;
    prefix += t.value;
  }
  return prefix;
}
