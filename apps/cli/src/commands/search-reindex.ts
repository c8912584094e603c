import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type IndexConfig, type ReindexProgress, reindex, searchAliasesOf } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import { countRows, sqlRows } from '@fraiseql/search-postgres';
import type { Command } from 'commander';
import { withIntegrations } from '../context';
import { CliError, EXIT, type Format, type Io, print } from '../output';

type Run = (p: Promise<number>) => Promise<void>;

interface ReindexOpts {
  config?: string;
  url?: string;
  format: Format;
  fromSql?: string;
  fromFile?: string;
  batch: string;
  maxFailed: string;
  settings?: string;
  primaryKey?: string;
  progress?: boolean;
}

function positiveInt(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new CliError(`${flag} must be an integer of at least ${min}`, EXIT.usage);
  return n;
}

function lines(file: string) {
  return createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
}

/** Non-empty lines of the file: the total the progress line's ETA is based on. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of lines(file)) if (line.trim()) n++;
  return n;
}

/** The documents of a JSON Lines file; a line that is not a JSON object aborts (with its number). */
async function* ndjson(file: string): AsyncGenerator<Record<string, unknown>> {
  let n = 0;
  for await (const raw of lines(file)) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new CliError(`${file} line ${n}: not valid JSON`, EXIT.failure);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc))
      throw new CliError(`${file} line ${n}: not a JSON object`, EXIT.failure);
    yield doc as Record<string, unknown>;
  }
}

const seconds = (ms: number) =>
  ms < 60_000 ? `${Math.ceil(ms / 1000)}s` : `${Math.floor(ms / 60_000)}m${Math.ceil((ms % 60_000) / 1000)}s`;

/** `\r123000/250000 documents  41200 docs/s  ETA 4s` on stderr (a terminal, or `--progress`). */
function progressLine(io: Io, total: number | undefined, force: boolean) {
  const tty = force || process.stderr.isTTY === true;
  let last = 0;
  return (p: ReindexProgress | undefined, end = false) => {
    if (!tty || !p) return;
    const now = Date.now();
    if (!end && now - last < 200) return;
    last = now;
    const rate = p.elapsedMs > 0 ? (p.documents * 1000) / p.elapsedMs : 0;
    const done = total === undefined ? `${p.documents}` : `${p.documents}/${total}`;
    const eta =
      total !== undefined && rate > 0 && !end
        ? `  ETA ${seconds(((total - p.documents - p.failed) / rate) * 1000)}`
        : '';
    const failed = p.failed > 0 ? `  ${p.failed} failed` : '';
    io.err(`\r${done} documents  ${Math.round(rate)} docs/s${eta}${failed}${end ? '\n' : ''}`);
  };
}

/**
 * `search reindex <index> --from-sql "SELECT …" | --from-file docs.ndjson`: a zero-downtime
 * rebuild (DESIGN §14.3) — the rows are counted first (for the ETA), indexed into
 * `<index>__<timestamp>`, then the index is switched over atomically; a failure leaves the old
 * index serving. Registered under the `search` command.
 */
export function registerSearchReindex(program: Command, io: Io, run: Run): void {
  const search = program.commands.find((c) => c.name() === 'search');
  if (!search) throw new Error('register the search command first');
  search
    .command('reindex')
    .argument('<index>')
    .option(
      '--from-sql <select>',
      'one SELECT run (read-only) on the configured Postgres; its rows are the documents',
    )
    .option('--from-file <file>', 'JSON Lines: one document per line')
    .option('--batch <n>', 'documents per indexing call', '1000')
    .option(
      '--max-failed <n>',
      'refused documents tolerated before giving up (the old index keeps serving)',
      '0',
    )
    .option('--settings <json>', 'IndexConfig of the new index as JSON (default: the live settings)')
    .option('--primary-key <field>', 'field holding each document id (default: the settings, else "id")')
    .option('--progress', 'draw the progress line even when stderr is not a terminal')
    .option('-c, --config <file>', 'config file')
    .option('--format <format>', 'table or json', 'table')
    .option(
      '--url <url>',
      'not supported: reindex runs on the configured providers (see POST /search/:index/reindex)',
    )
    .description('rebuild an index without downtime from a SELECT or a JSON Lines file')
    .action((index: string, o: ReindexOpts) =>
      run(
        (async () => {
          if (!o.fromSql === !o.fromFile)
            throw new CliError('give exactly one of --from-sql and --from-file', EXIT.usage);
          if (o.url)
            throw new CliError(
              'search reindex runs on the configured providers; against a server use POST /search/:index/reindex',
              EXIT.usage,
            );
          const batchSize = positiveInt(o.batch, '--batch', 1);
          const maxFailed = positiveInt(o.maxFailed, '--max-failed', 0);
          let config: IndexConfig | undefined;
          if (o.settings) {
            try {
              config = JSON.parse(o.settings) as IndexConfig;
            } catch {
              throw new CliError('--settings is not valid JSON', EXIT.usage);
            }
          }
          if (o.fromFile) {
            await access(o.fromFile).catch(() => {
              throw new CliError(`cannot read ${o.fromFile}`, EXIT.usage);
            });
          }
          return withIntegrations(o, async (i) => {
            if (!i.search)
              throw new CliError('no search provider is configured ([search] section)', EXIT.usage);
            if (!searchAliasesOf(i.search)) {
              throw new CliError(
                `the "${i.search.name}" search provider cannot switch indexes atomically here (a running serve? use POST /search/:index/reindex)`,
                EXIT.usage,
              );
            }
            let total: number;
            let source: () => AsyncIterable<Record<string, unknown>>;
            if (o.fromSql) {
              const sql = i.sql as SqlClient | undefined;
              if (!sql)
                throw new CliError(
                  '--from-sql needs a PostgreSQL connection ([postgres] section)',
                  EXIT.usage,
                );
              const select = o.fromSql;
              total = await countRows(sql, select);
              source = () => sqlRows(sql, select);
            } else {
              const file = o.fromFile!;
              total = await countLines(file);
              source = () => ndjson(file);
            }
            const draw = progressLine(io, total, o.progress === true);
            let last: ReindexProgress | undefined;
            const result = await reindex(i.search, {
              index,
              source,
              batchSize,
              maxFailed,
              ...(config ? { config } : {}),
              ...(o.primaryKey ? { idField: o.primaryKey } : {}),
              onProgress: (p) => {
                last = p;
                draw(p);
              },
            });
            draw(last, true);
            const perSecond =
              result.tookMs > 0 ? Math.round((result.documents * 1000) / result.tookMs) : result.documents;
            print(io, o.format, {
              index,
              documents: result.documents,
              failed: result.failed,
              tookMs: Math.round(result.tookMs),
              documentsPerSecond: perSecond,
              ...(o.format === 'json' && result.failures.length ? { failures: result.failures } : {}),
            });
            return EXIT.ok;
          });
        })(),
      ),
    );
}
