import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIntegrationError } from '@fraiseql/core';

/**
 * Hostile names and values: quotes, statement breaks, comments, SQL/LIKE/glob/Redis wildcards,
 * escapes, NUL and other control characters, unicode tricks, path-like and oversized strings,
 * and payloads that would leave a trace if they were ever executed: they try to drop or empty
 * the canary table `canary` (schema-qualified) and to create relations/schemas named
 * `pwned_<marker>…`, which the tests look for afterwards.
 */
export function hostileCorpus(marker: string, canary: string): string[] {
  const pwned = `pwned_${marker}`;
  return [
    `'`,
    `"`,
    '`',
    `''`,
    `\\'`,
    `x'; DROP TABLE ${canary}; --`,
    `x"; DROP TABLE ${canary}; --`,
    `'); DELETE FROM ${canary}; --`,
    `"); CREATE TABLE ${pwned}_a (x int); --`,
    `'; CREATE SCHEMA ${pwned}_s; --`,
    `x' OR '1'='1`,
    `1; SELECT pg_sleep(0.5)`,
    `$$; CREATE TABLE ${pwned}_b (x int); $$`,
    `$1`,
    `/* comment */`,
    `-- comment`,
    `;`,
    `%`,
    `_`,
    `a%b`,
    `a_b`,
    `%_%`,
    `*`,
    `?`,
    `a*b`,
    `a?b`,
    `[a-z]`,
    `[^x]`,
    `\\`,
    `a\\*b`,
    `\\\\`,
    `{tag}`,
    `a\u0000b`,
    `\u0000`,
    `\r\n`,
    `\t`,
    `ünïcødé`,
    `名前`,
    `😀`,
    `\u202eevil`,
    `\ufeff`,
    `e\u0301`,
    `../../etc/passwd`,
    `a.b`,
    `a:b`,
    `-`,
    ` `,
    `x`.repeat(300),
    `ZZZ${marker}`,
    `@>`,
    `$.a ? (@ == 1)`,
    `<mark>`,
    `\\x00`,
    `null`,
    `undefined`,
    `__proto__`,
    `constructor`,
  ];
}

/**
 * The reference semantics of the cache glob, written independently of core's implementation so
 * it can serve as the oracle: `*` any run of characters, `?` one code point, `\` escapes the
 * next character (a trailing `\` is itself), everything else literal.
 */
export function globMatches(pattern: string, key: string): boolean {
  type Tok = { t: 'lit'; c: string } | { t: 'any' } | { t: 'one' };
  const toks: Tok[] = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') toks.push({ t: 'lit', c: i + 1 < p.length ? p[++i]! : '\\' });
    else if (p[i] === '*') toks.push({ t: 'any' });
    else if (p[i] === '?') toks.push({ t: 'one' });
    else toks.push({ t: 'lit', c: p[i]! });
  }
  const k = Array.from(key);
  // dp[j]: the tokens seen so far match the first j characters of the key.
  let dp = new Array<boolean>(k.length + 1).fill(false);
  dp[0] = true;
  for (const tok of toks) {
    const next = new Array<boolean>(k.length + 1).fill(false);
    for (let j = 0; j <= k.length; j++) {
      if (tok.t === 'any') next[j] = dp[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0 && dp[j - 1]) next[j] = tok.t === 'one' || k[j - 1] === tok.c;
    }
    dp = next;
  }
  return dp[k.length]!;
}

/** A glob that matches exactly `literal` (core glob syntax: `\` escapes `*`, `?` and itself). */
export function escapeGlob(literal: string): string {
  return literal.replace(/[\\*?]/g, '\\$&');
}

/** Thrown inside `Tally.try` when a backend refused an input without throwing (a per-item failure). */
export class Refused extends Error {
  constructor(readonly how: string) {
    super(how);
  }
}

/**
 * Counts what happened to each hostile input: refused with a coded IntegrationError, handled
 * (and checked to be literal by the caller, who reports mismatches), or — never acceptable — an
 * error that is not an IntegrationError.
 */
export class Tally {
  tried = 0;
  rejected = 0;
  literal = 0;
  readonly codes: Record<string, number> = {};
  /** A few inputs per code, for the debug dump. */
  readonly examples: Record<string, string[]> = {};
  readonly uncoded: string[] = [];
  readonly mismatches: string[] = [];
  /** Differences caused by an engine outside our code, named in the report (see Quirks in injection.test.ts). */
  readonly deviations: string[] = [];

  async try(label: string, fn: () => Promise<void>): Promise<boolean> {
    this.tried++;
    try {
      await fn();
      this.literal++;
      return true;
    } catch (err) {
      if (err instanceof Refused) {
        this.rejected++;
        this.codes[err.how] = (this.codes[err.how] ?? 0) + 1;
      } else if (isIntegrationError(err)) {
        this.rejected++;
        this.codes[err.code] = (this.codes[err.code] ?? 0) + 1;
        const seen = this.examples[err.code] ?? [];
        this.examples[err.code] = seen;
        if (seen.length < 8) seen.push(`${label}: ${err.message.slice(0, 160)}`);
      } else {
        this.uncoded.push(`${label}: ${err instanceof Error ? err.stack : String(err)}`);
      }
      return false;
    }
  }

  /** Records a mismatch when `actual` differs from `expected` (compared as JSON). */
  same(label: string, actual: unknown, expected: unknown): void {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) this.mismatches.push(`${label}: got ${a}, expected ${e}`);
  }

  /** With FRAISEQL_FAULTS_DEBUG=1, everything refused or wrong goes to <tmpdir>/fraiseql-faults-<subject>.json. */
  dump(subject: string): void {
    if (!process.env.FRAISEQL_FAULTS_DEBUG) return;
    writeFileSync(
      join(tmpdir(), `fraiseql-faults-${subject}.json`),
      JSON.stringify(
        { uncoded: this.uncoded, mismatches: this.mismatches, codes: this.codes, examples: this.examples },
        null,
        2,
      ),
    );
  }

  codeText(): string {
    return (
      Object.entries(this.codes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([c, n]) => `${c}×${n}`)
        .join(' ') || 'none'
    );
  }
}
