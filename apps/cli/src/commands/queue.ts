import type { EnqueueOptions, Integrations, JobInfo, JobState, QueueProvider } from '@fraiseql/core';
import { backendQueueNames } from '@fraiseql/server';
import type { Command } from 'commander';
import { withIntegrations } from '../context';
import { CliError, EXIT, type Format, type Io, print } from '../output';

type Run = (p: Promise<number>) => Promise<void>;
interface Common {
  config?: string;
  url?: string;
  format: Format;
}

const JOB_COLUMNS = ['id', 'state', 'attempts', 'maxRetries', 'priority', 'runAt', 'lastError'];

function needQueue(q: QueueProvider | undefined): QueueProvider {
  if (!q) throw new CliError('no queue backend is configured ([queues] section)', EXIT.usage);
  return q;
}

function int(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`${name} must be an integer, got ${value}`, EXIT.usage);
  return n;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${what} is not valid JSON: ${text.slice(0, 80)}`, EXIT.usage);
  }
}

/** Every failed job of a queue, page by page (the DLQ of the backends that can list it). */
async function allFailed(q: QueueProvider, queue: string): Promise<JobInfo[]> {
  const out: JobInfo[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await q.listJobs(queue, { state: 'failed', limit: 500, offset });
    out.push(...page);
    if (page.length < 500) return out;
  }
}

/** RabbitMQ keeps failed jobs in a dead-letter queue it cannot address by id: its own DLQ calls. */
interface DlqBackend {
  peekFailed?(queue: string, limit: number): Promise<unknown[]>;
  retryFailed?(queue: string, limit?: number): Promise<number>;
}

function dlqOf(q: QueueProvider): DlqBackend {
  const inner = (q as { inner?: unknown }).inner ?? q;
  return inner as DlqBackend;
}

/** The worker's built-in queues (apps/worker builtins.ts). */
const BUILTIN_QUEUES = ['webhook', 'search.index', 'search.delete', 'cache.invalidate'];

/**
 * Every queue a "whole DLQ" view looks at: the built-in ones, the configured ones, and those the
 * backend can name (PostgreSQL, directly or through the running server's `GET /queues`).
 */
async function everyQueue(i: Integrations & { queueNames?(): Promise<string[]> }): Promise<string[]> {
  const found = i.queueNames ? await i.queueNames() : await backendQueueNames(i);
  return [...new Set([...BUILTIN_QUEUES, ...found])].sort();
}

export function registerQueue(program: Command, io: Io, run: Run): void {
  const queue = program.command('queue').description('Inspect and operate job queues');
  const common = (c: Command) =>
    c
      .option('-c, --config <file>', 'config file')
      .option('--format <format>', 'table or json', 'table')
      .option(
        '--url <url>',
        'operate through this running server (default: the `serve` holding the data directory, if any)',
      );

  common(
    queue.command('stats').argument('<queue>').description('pending, failed and paused of a queue'),
  ).action((name: string, o: Common) =>
    run(
      withIntegrations(o, async (i) => {
        const q = needQueue(i.queue);
        print(io, o.format, {
          queue: name,
          length: await q.queueLength(name),
          failed: await q.failedCount(name),
          paused: await q.isPaused(name),
        });
        return EXIT.ok;
      }),
    ),
  );
  common(
    queue
      .command('list')
      .argument('<queue>')
      .description('jobs of a queue in one state')
      .option('--state <state>', 'pending, running, completed or failed', 'pending')
      .option('--limit <n>', 'page size', '50')
      .option('--offset <n>', 'skip', '0'),
  ).action((name: string, o: Common & { state: JobState; limit?: string; offset?: string }) =>
    run(
      withIntegrations(o, async (i) => {
        const jobs = await needQueue(i.queue).listJobs(name, {
          state: o.state,
          limit: int(o.limit, '--limit', 50),
          offset: int(o.offset, '--offset', 0),
        });
        print(io, o.format, jobs, JOB_COLUMNS);
        return EXIT.ok;
      }),
    ),
  );
  common(
    queue.command('show').argument('<queue>').argument('<id>').description('one job, with its data'),
  ).action((name: string, id: string, o: Common) =>
    run(
      withIntegrations(o, async (i) => {
        const job = await needQueue(i.queue).getJob(name, id);
        if (!job) {
          if (o.format === 'json') print(io, 'json', null);
          io.err(`job ${id} not found in ${name}`);
          return EXIT.failure;
        }
        print(io, o.format, job);
        return EXIT.ok;
      }),
    ),
  );
  common(
    queue
      .command('enqueue')
      .argument('<queue>')
      .argument('<json>', 'job data as JSON')
      .option('--delay-ms <ms>')
      .option('--priority <n>')
      .option('--dedup-key <key>')
      .option('--max-retries <n>')
      .option('--timeout-ms <ms>')
      .description('add a job'),
  ).action(
    (
      name: string,
      json: string,
      o: Common & {
        delayMs?: string;
        priority?: string;
        dedupKey?: string;
        maxRetries?: string;
        timeoutMs?: string;
      },
    ) =>
      run(
        withIntegrations(o, async (i) => {
          const opts: EnqueueOptions = {};
          if (o.delayMs !== undefined) opts.delayMs = int(o.delayMs, '--delay-ms', 0);
          if (o.priority !== undefined) opts.priority = int(o.priority, '--priority', 0);
          if (o.dedupKey !== undefined) opts.dedupKey = o.dedupKey;
          if (o.maxRetries !== undefined) opts.maxRetries = int(o.maxRetries, '--max-retries', 3);
          if (o.timeoutMs !== undefined) opts.timeoutMs = int(o.timeoutMs, '--timeout-ms', 30_000);
          const id = await needQueue(i.queue).enqueue(name, parseJson(json, 'job data'), opts);
          print(io, o.format, o.format === 'json' ? { id } : id);
          return EXIT.ok;
        }),
      ),
  );
  for (const [cmd, desc] of [
    ['retry', 'move a failed job back to pending'],
    ['delete', 'delete a job'],
  ] as const) {
    common(queue.command(cmd).argument('<queue>').argument('<id>').description(desc)).action(
      (name: string, id: string, o: Common) =>
        run(
          withIntegrations(o, async (i) => {
            const q = needQueue(i.queue);
            const done = cmd === 'retry' ? await q.retryJob(name, id) : await q.deleteJob(name, id);
            print(
              io,
              o.format,
              o.format === 'json'
                ? { [cmd === 'retry' ? 'retried' : 'deleted']: done }
                : done
                  ? `${cmd === 'retry' ? 'retried' : 'deleted'} ${id}`
                  : `job ${id} not ${cmd === 'retry' ? 'failed' : 'found'}`,
            );
            return done ? EXIT.ok : EXIT.failure;
          }),
        ),
    );
  }
  const retryAll = (c: Command) =>
    common(
      c
        .argument('<queue>')
        .option('--dry-run', 'list what would be retried')
        .description('retry every failed job of a queue'),
    ).action((name: string, o: Common & { dryRun?: boolean }) =>
      run(
        withIntegrations(o, async (i) => {
          const q = needQueue(i.queue);
          if (!q.capabilities.inspect) {
            const dlq = dlqOf(q);
            if (!dlq.retryFailed) throw new CliError(`the ${q.name} backend cannot list failed jobs`);
            if (o.dryRun) {
              print(io, o.format, { queue: name, wouldRetry: await q.failedCount(name) });
              return EXIT.ok;
            }
            print(io, o.format, { queue: name, retried: await dlq.retryFailed(name) });
            return EXIT.ok;
          }
          const failed = await allFailed(q, name);
          if (o.dryRun) {
            print(
              io,
              o.format,
              o.format === 'json' ? { queue: name, wouldRetry: failed.map((j) => j.id) } : failed,
              JOB_COLUMNS,
            );
            return EXIT.ok;
          }
          let retried = 0;
          for (const job of failed) if (await q.retryJob(name, job.id)) retried++;
          print(io, o.format, { queue: name, retried });
          return EXIT.ok;
        }),
      ),
    );
  retryAll(queue.command('retry-all'));
  for (const cmd of ['pause', 'resume'] as const) {
    common(
      queue
        .command(cmd)
        .argument('<queue>')
        .description(`${cmd} delivery on a queue (every worker, every process)`),
    ).action((name: string, o: Common) =>
      run(
        withIntegrations(o, async (i) => {
          const q = needQueue(i.queue);
          await (cmd === 'pause' ? q.pause(name) : q.resume(name));
          print(io, o.format, { queue: name, paused: await q.isPaused(name) });
          return EXIT.ok;
        }),
      ),
    );
  }

  const dlq = program.command('dlq').description('Failed jobs (the dead-letter queue)');
  common(
    dlq
      .command('list')
      .argument('[queue]', 'one queue (default: every queue)')
      .option('--limit <n>', 'page size (per queue)', '50')
      .description('failed jobs of a queue, or of every queue'),
  ).action((name: string | undefined, o: Common & { limit?: string }) =>
    run(
      withIntegrations(o, async (i) => {
        const q = needQueue(i.queue);
        const limit = int(o.limit, '--limit', 50);
        if (!q.capabilities.inspect) {
          const d = dlqOf(q);
          if (!d.peekFailed) throw new CliError(`the ${q.name} backend cannot list failed jobs`);
          if (name === undefined) throw new CliError(`the ${q.name} backend needs a queue name`, EXIT.usage);
          print(io, o.format, (await d.peekFailed(name, limit)) as Record<string, unknown>[]);
          return EXIT.ok;
        }
        if (name !== undefined) {
          print(io, o.format, await q.listJobs(name, { state: 'failed', limit }), JOB_COLUMNS);
          return EXIT.ok;
        }
        const names = await everyQueue(i);
        const jobs: (JobInfo & { queue: string })[] = [];
        for (const queueName of names)
          for (const job of await q.listJobs(queueName, { state: 'failed', limit }))
            jobs.push({ ...job, queue: queueName });
        print(io, o.format, jobs, ['queue', ...JOB_COLUMNS]);
        return EXIT.ok;
      }),
    ),
  );
  common(dlq.command('show').argument('<queue>').argument('<id>').description('one failed job')).action(
    (name: string, id: string, o: Common) =>
      run(
        withIntegrations(o, async (i) => {
          const q = needQueue(i.queue);
          // RabbitMQ cannot address a message by id: look through its dead-letter queue instead.
          const peek = dlqOf(q).peekFailed;
          const job = q.capabilities.inspect
            ? await q.getJob(name, id)
            : ((await peek?.call(dlqOf(q), name, 10_000))?.find((j) => (j as { id?: string }).id === id) as
                | JobInfo
                | undefined);
          if (job?.state !== 'failed' && q.capabilities.inspect) {
            io.err(`no failed job ${id} in ${name}`);
            return EXIT.failure;
          }
          if (!job) {
            io.err(`no failed job ${id} in ${name}`);
            return EXIT.failure;
          }
          print(io, o.format, job);
          return EXIT.ok;
        }),
      ),
  );
  common(
    dlq.command('retry').argument('<queue>').argument('<id>').description('retry one failed job'),
  ).action((name: string, id: string, o: Common) =>
    run(
      withIntegrations(o, async (i) => {
        const done = await needQueue(i.queue).retryJob(name, id);
        print(
          io,
          o.format,
          o.format === 'json' ? { retried: done } : done ? `retried ${id}` : `no failed job ${id}`,
        );
        return done ? EXIT.ok : EXIT.failure;
      }),
    ),
  );
  retryAll(dlq.command('retry-all'));
}
