import { type IntegrationError, isIntegrationError, redactSecrets } from '@fraiseql/core';
import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { addExamples } from './examples';

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

/** Runs one command's promise, recording its exit code (the failure printed, secrets removed). */
export type Runner = (p: Promise<number>) => Promise<void>;

/**
 * Builds a commander program, lets `register` add its commands, parses `argv` and resolves to the
 * exit code: 0 ok, 1 failure, 2 usage or configuration error.
 */
export async function runProgram(
  name: string,
  description: string,
  argv: string[],
  io: Io,
  register: (program: Command, run: Runner) => void,
): Promise<number> {
  let code: number = EXIT.ok;
  const run: Runner = async (p) => {
    try {
      code = await p;
    } catch (err) {
      io.err(describeFailure(err));
      const e = err as { kind?: string };
      code =
        err instanceof CliError
          ? err.code
          : e.kind === 'configuration' || e.kind === 'invalid_input'
            ? EXIT.usage
            : EXIT.failure;
    }
  };
  const program = new Command()
    .name(name)
    .description(description)
    .exitOverride()
    .version(pkg.version, '-V, --version', 'print the version')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  register(program, run);
  addExamples(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.err(describeFailure(err));
    return EXIT.failure;
  }
  return code;
}

/** A config file that failed to load or validate: every issue, as JSON or on stderr; exit 2. */
export function printConfigFailure(io: Io, format: Format, err: unknown): number {
  const e = err as { code?: string; message: string; issues?: { path: string; message: string }[] };
  if (format === 'json')
    print(io, 'json', { valid: false, code: e.code, issues: e.issues ?? [{ path: '', message: e.message }] });
  else io.err(describeFailure(err));
  return EXIT.usage;
}
