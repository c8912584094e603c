import type { CacheProvider } from '@fraiseql/core';
import type { Command } from 'commander';
import { withIntegrations } from '../context';
import { CliError, EXIT, type Format, type Io, print } from '../output';

type Run = (p: Promise<number>) => Promise<void>;
interface Common {
  config?: string;
  url?: string;
  format: Format;
}

function needCache(c: CacheProvider | undefined): CacheProvider {
  if (!c) throw new CliError('no cache backend is configured ([cache] section)', EXIT.usage);
  return c;
}

export function registerCache(program: Command, io: Io, run: Run): void {
  const cache = program
    .command('cache')
    .description('Read and write the cache (note: the memory backend lives in one process)');
  const common = (c: Command) =>
    c
      .option('-c, --config <file>', 'config file')
      .option('--format <format>', 'table or json', 'table')
      .option(
        '--url <url>',
        'operate through this running server (default: the `serve` holding the data directory, if any)',
      );

  common(cache.command('get').argument('<key>').description('print a value (exit 1 on a miss)')).action(
    (key: string, o: Common) =>
      run(
        withIntegrations(o, async (i) => {
          const v = await needCache(i.cache).get(key);
          if (v === null) {
            if (o.format === 'json') print(io, 'json', { key, hit: false });
            else io.err(`miss: ${key}`);
            return EXIT.failure;
          }
          const text = new TextDecoder('utf-8', { fatal: false }).decode(v);
          print(
            io,
            o.format,
            o.format === 'json' ? { key, hit: true, value: text, bytes: v.byteLength } : text,
          );
          return EXIT.ok;
        }),
      ),
  );
  common(
    cache
      .command('set')
      .argument('<key>')
      .argument('<value>')
      .option('--ttl-ms <ms>')
      .description('store a string value'),
  ).action((key: string, value: string, o: Common & { ttlMs?: string }) =>
    run(
      withIntegrations(o, async (i) => {
        await needCache(i.cache).set(key, value, o.ttlMs === undefined ? undefined : Number(o.ttlMs));
        print(io, o.format, { key, stored: true });
        return EXIT.ok;
      }),
    ),
  );
  common(cache.command('del').argument('<key>').description('delete a key')).action(
    (key: string, o: Common) =>
      run(
        withIntegrations(o, async (i) => {
          const deleted = await needCache(i.cache).delete(key);
          print(io, o.format, { key, deleted });
          return deleted ? EXIT.ok : EXIT.failure;
        }),
      ),
  );
  common(
    cache
      .command('del-pattern')
      .argument('<pattern>', 'glob: * any run, ? one character, \\ escapes')
      .description('delete matching keys'),
  ).action((pattern: string, o: Common) =>
    run(
      withIntegrations(o, async (i) => {
        print(io, o.format, { pattern, deleted: await needCache(i.cache).deletePattern(pattern) });
        return EXIT.ok;
      }),
    ),
  );
  common(
    cache.command('ttl').argument('<key>').description('remaining TTL in ms (exit 1 when absent)'),
  ).action((key: string, o: Common) =>
    run(
      withIntegrations(o, async (i) => {
        const ttl = await needCache(i.cache).ttl(key);
        print(io, o.format, { key, ttlMs: ttl });
        return ttl === null ? EXIT.failure : EXIT.ok;
      }),
    ),
  );
}
