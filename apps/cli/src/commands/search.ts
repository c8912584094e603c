import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { BulkResult, Document, IndexConfig, SearchProvider } from '@fraiseql/core';
import type { Command } from 'commander';
import { withIntegrations } from '../context';
import { CliError, EXIT, type Format, type Io, print } from '../output';

type Run = (p: Promise<number>) => Promise<void>;
interface Common {
  config?: string;
  url?: string;
  format: Format;
}

function needSearch(s: SearchProvider | undefined): SearchProvider {
  if (!s) throw new CliError('no search provider is configured ([search] section)', EXIT.usage);
  return s;
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${what} is not valid JSON`, EXIT.usage);
  }
}

const list = (v?: string) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** A one-line progress bar on stderr (only when it is a terminal, or forced for tests). */
function progress(io: Io, total: number, force: boolean) {
  const tty = force || process.stderr.isTTY;
  let last = 0;
  return (done: number, lines: number, end = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!end && now - last < 100) return;
    last = now;
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const bar = '#'.repeat(Math.round(pct * 30)).padEnd(30, '.');
    io.err(`\r[${bar}] ${(pct * 100).toFixed(0).padStart(3)}%  ${lines} documents${end ? '\n' : ''}`);
  };
}

export function registerSearch(program: Command, io: Io, run: Run): void {
  const search = program.command('search').description('Query and manage search indexes');
  const common = (c: Command) =>
    c
      .option('-c, --config <file>', 'config file')
      .option('--format <format>', 'table or json', 'table')
      .option(
        '--url <url>',
        'operate through this running server (default: the `serve` holding the data directory, if any)',
      );

  common(
    search
      .command('query')
      .argument('<index>')
      .argument('[query]', 'words (empty = browse)', '')
      .option('--filter <json>', 'portable filter as JSON')
      .option('--sort <fields>', 'e.g. price:asc,name:desc')
      .option('--limit <n>', 'page size', '20')
      .option('--offset <n>', 'skip', '0')
      .option('--facets <fields>', 'comma-separated')
      .description('search an index'),
  ).action(
    (
      index: string,
      query: string,
      o: Common & { filter?: string; sort?: string; limit: string; offset: string; facets?: string },
    ) =>
      run(
        withIntegrations(o, async (i) => {
          const result = await needSearch(i.search).search({
            index,
            query,
            limit: Number(o.limit),
            offset: Number(o.offset),
            ...(o.filter ? { filter: json(o.filter, '--filter') as never } : {}),
            ...(o.sort ? { sort: list(o.sort)! } : {}),
            ...(o.facets ? { facets: list(o.facets)! } : {}),
          });
          if (o.format === 'json') print(io, 'json', result);
          else {
            print(
              io,
              'table',
              result.hits.map((h) => ({ id: h.id, score: h.score, document: h.document })),
            );
            io.out(
              `${result.totalHits}${result.totalHitsExact ? '' : ' (estimated)'} hits in ${result.processingTimeMs} ms`,
            );
          }
          return EXIT.ok;
        }),
      ),
  );

  common(
    search
      .command('import')
      .argument('<index>')
      .argument('<file>', 'JSON Lines: one document per line, with its primary key')
      .option('--batch <n>', 'documents per request', '500')
      .option('--primary-key <field>', 'field holding the id', 'id')
      .option('--progress', 'draw the progress bar even when stderr is not a terminal')
      .description('bulk-index a .jsonl file (streamed, not read into memory)'),
  ).action(
    (index: string, file: string, o: Common & { batch: string; primaryKey: string; progress?: boolean }) =>
      run(
        withIntegrations(o, async (i) => {
          const s = needSearch(i.search);
          const batchSize = Number(o.batch);
          if (!Number.isInteger(batchSize) || batchSize < 1)
            throw new CliError('--batch must be a positive integer', EXIT.usage);
          let size: number;
          try {
            size = statSync(file).size;
          } catch {
            throw new CliError(`cannot read ${file}`, EXIT.usage);
          }
          const stream = createReadStream(file);
          const bar = progress(io, size, o.progress === true);
          let lines = 0;
          let succeeded = 0;
          const failed: { id: string; reason: string; line?: number }[] = [];
          let batch: Document[] = [];
          const lineOf: number[] = [];
          const flush = async () => {
            if (batch.length === 0) return;
            // The extra argument is for the server's API (it reads ids from the data); providers ignore it.
            const index2 = s.indexDocuments as (d: Document[], pk: string) => Promise<BulkResult>;
            const r = await index2.call(s, batch, o.primaryKey);
            succeeded += r.succeeded;
            failed.push(...r.failed);
            batch = [];
            lineOf.length = 0;
          };
          for await (const raw of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
            lines++;
            const line = raw.trim();
            if (!line) continue;
            let doc: unknown;
            try {
              doc = JSON.parse(line);
            } catch {
              failed.push({ id: '', reason: 'not valid JSON', line: lines });
              continue;
            }
            if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
              failed.push({ id: '', reason: 'not a JSON object', line: lines });
              continue;
            }
            const d = doc as Record<string, unknown>;
            const id = d[o.primaryKey];
            batch.push({
              id: typeof id === 'string' || typeof id === 'number' ? String(id) : '',
              index,
              data: d,
            });
            lineOf.push(lines);
            if (batch.length >= batchSize) await flush();
            bar(stream.bytesRead, lines);
          }
          await flush();
          bar(size, lines, true);
          print(io, o.format, {
            index,
            lines,
            succeeded,
            failed: failed.length,
            ...(o.format === 'json' ? { failures: failed.slice(0, 100) } : {}),
          });
          if (o.format !== 'json' && failed.length)
            io.err(
              failed
                .slice(0, 10)
                .map((f) => `  ${f.line ? `line ${f.line}` : f.id}: ${f.reason}`)
                .join('\n'),
            );
          return failed.length ? EXIT.failure : EXIT.ok;
        }),
      ),
  );

  common(search.command('clear').argument('<index>').description('delete every document of an index')).action(
    (index: string, o: Common) =>
      run(
        withIntegrations(o, async (i) => {
          await needSearch(i.search).clearIndex(index);
          print(io, o.format, { index, cleared: true });
          return EXIT.ok;
        }),
      ),
  );

  common(
    search
      .command('configure')
      .argument('<index>')
      .option('--searchable <fields>', 'comma-separated')
      .option('--filterable <fields>', 'comma-separated')
      .option('--sortable <fields>', 'comma-separated')
      .option('--primary-key <field>')
      .option('--json <config>', 'the whole IndexConfig as JSON')
      .description('create or change an index'),
  ).action(
    (
      index: string,
      o: Common & {
        searchable?: string;
        filterable?: string;
        sortable?: string;
        primaryKey?: string;
        json?: string;
      },
    ) =>
      run(
        withIntegrations(o, async (i) => {
          const config: IndexConfig = o.json
            ? (json(o.json, '--json') as IndexConfig)
            : {
                searchable: list(o.searchable) ?? [],
                ...(o.filterable ? { filterable: list(o.filterable)! } : {}),
                ...(o.sortable ? { sortable: list(o.sortable)! } : {}),
                ...(o.primaryKey ? { primaryKey: o.primaryKey } : {}),
              };
          if (!config.searchable?.length)
            throw new CliError('--searchable (or --json) is required', EXIT.usage);
          await needSearch(i.search).configureIndex(index, config);
          print(io, o.format, { index, ...config });
          return EXIT.ok;
        }),
      ),
  );
}
