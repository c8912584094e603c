import { type IntegrationError, isIntegrationError, redactSecrets } from '@fraiseql/core';

export type Format = 'table' | 'json';

/** Where a command writes; tests and `main()` callers can capture it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure with its exit code; `main()` prints it and exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.failure,
  ) {
    super(message);
  }
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A plain aligned table (no box drawing, so it pastes cleanly). */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = rows.map((r) => cols.map((c) => cell(r[c]).replace(/\s+/g, ' ').slice(0, 120)));
  const widths = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...text.map(line)].join('\n');
}

/** Writes `value` as JSON (`--format json`) or as a table / key-value list. */
export function print(io: Io, format: Format, value: unknown, columns?: string[]): void {
  if (format === 'json') io.out(JSON.stringify(value, null, 2));
  else if (Array.isArray(value)) io.out(table(value as Record<string, unknown>[], columns));
  else if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const w = Math.max(...entries.map(([k]) => k.length), 1);
    io.out(entries.map(([k, v]) => `${k.padEnd(w)}  ${cell(v)}`).join('\n'));
  } else io.out(cell(value));
}

/** The message a user sees for an error: code + message, secrets removed. */
export function describeFailure(err: unknown): string {
  if (isIntegrationError(err)) {
    const e = err as IntegrationError;
    return redactSecrets(`error ${e.code}: ${e.message}`);
  }
  return redactSecrets(`error: ${err instanceof Error ? err.message : String(err)}`);
}
