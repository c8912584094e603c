import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assertQueueName,
  type CacheProvider,
  ErrorCode,
  IntegrationError,
  type JobHandler,
  type QueueProvider,
  type SearchProvider,
  type Worker,
} from '@fraiseql/core';
import {
  BUILTIN_QUEUES,
  cacheInvalidateHandler,
  searchDeleteHandler,
  searchIndexHandler,
  type WebhookOptions,
  webhookHandler,
} from './builtins';
import { REINDEX_QUEUE, searchReindexHandler } from './reindex';

export type Handlers = Record<string, JobHandler<any>>;

export interface WorkerAppOptions {
  /** What `createIntegrations` returned (or any object with these providers). */
  integrations: { queue?: QueueProvider; search?: SearchProvider; cache?: CacheProvider; sql?: unknown };
  /** User handlers by queue name; they win over a built-in of the same name. Default none. */
  handlers?: Handlers;
  /** Run the built-ins whose provider is configured (webhook always). Default true. */
  builtins?: boolean;
  /** Jobs at once per queue. Default 5 (config `[queues] concurrency`). */
  concurrency?: number;
  /** Per-queue concurrency overrides. */
  concurrencyByQueue?: Record<string, number>;
  /** Primary key of each search index for `search.index` (default `id`). */
  primaryKeys?: Record<string, string>;
  webhook?: WebhookOptions;
  /**
   * A started scheduler (`startSchedulesFromConfig` of `@fraiseql/scheduler`, run when
   * `[[schedules]]` are configured): `close()` stops it first, so no tick is enqueued while the
   * workers drain. Default none.
   */
  scheduler?: { stop(): Promise<void> };
}

export interface WorkerApp {
  /** Queue names this app processes. */
  readonly queues: string[];
  /** Stops taking jobs; running ones get `timeoutMs` (default 30_000) to finish, then go back to pending. */
  close(opts?: { timeoutMs?: number }): Promise<void>;
  /** Calls `fn` on every worker event: (event, queue, ...args). */
  onEvent(
    fn: (event: 'completed' | 'failed' | 'retrying' | 'error', queue: string, ...args: unknown[]) => void,
  ): void;
}

/** The handlers the app runs: built-ins for the configured providers, then the user's. */
export function resolveHandlers(opts: WorkerAppOptions): Handlers {
  const out: Handlers = {};
  if (opts.builtins !== false) {
    out.webhook = webhookHandler(opts.webhook);
    if (opts.integrations.search) {
      out['search.index'] = searchIndexHandler(opts.integrations.search, opts.primaryKeys);
      out['search.delete'] = searchDeleteHandler(opts.integrations.search);
      // Zero-downtime reindex from a SELECT: needs the Postgres of `integrations.sql`.
      if (opts.integrations.sql) {
        out[REINDEX_QUEUE] = searchReindexHandler({
          search: opts.integrations.search,
          sql: opts.integrations.sql as Parameters<typeof searchReindexHandler>[0]['sql'],
          ...(opts.integrations.cache ? { cache: opts.integrations.cache } : {}),
        });
      }
    }
    if (opts.integrations.cache) out['cache.invalidate'] = cacheInvalidateHandler(opts.integrations.cache);
  }
  for (const [queue, handler] of Object.entries(opts.handlers ?? {})) {
    assertQueueName(queue);
    if (typeof handler !== 'function') {
      throw IntegrationError.configuration(
        ErrorCode.InvalidConfiguration,
        `Handler for queue "${queue}" is not a function`,
      );
    }
    out[queue] = handler;
  }
  return out;
}

/** Starts one worker per handler queue. */
export function startWorkers(opts: WorkerAppOptions): WorkerApp {
  const queue = opts.integrations.queue;
  if (!queue) {
    throw IntegrationError.configuration(
      ErrorCode.ProviderNotConfigured,
      'The worker needs a queue provider: add a [queues] section',
    );
  }
  const handlers = resolveHandlers(opts);
  const listeners: ((event: any, queue: string, ...args: unknown[]) => void)[] = [];
  const workers: Worker[] = Object.entries(handlers).map(([name, handler]) => {
    const w = queue.process(name, handler, {
      concurrency: opts.concurrencyByQueue?.[name] ?? opts.concurrency ?? 5,
    });
    for (const event of ['completed', 'failed', 'retrying', 'error'] as const) {
      w.on(event, (...args: unknown[]) => {
        for (const l of listeners) l(event, name, ...args);
      });
    }
    return w;
  });
  let closing: Promise<void> | undefined;
  return {
    queues: Object.keys(handlers),
    onEvent: (fn) => void listeners.push(fn),
    close(closeOpts = {}) {
      closing ??= (opts.scheduler?.stop() ?? Promise.resolve())
        .catch(() => {})
        .then(() =>
          Promise.allSettled(workers.map((w) => w.close({ timeoutMs: closeOpts.timeoutMs ?? 30_000 }))),
        )
        .then(() => {});
      return closing;
    },
  };
}

/**
 * Loads a user handlers module: its default export or its named exports, `{ [queue]: handler }`.
 * A missing file or a module without handlers is IN002 with the path.
 */
export async function loadHandlers(path: string, cwd = process.cwd()): Promise<Handlers> {
  const file = resolve(cwd, path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `Cannot load handlers module ${file}: ${(err as Error).message}`,
      {
        kind: 'configuration',
        cause: err,
      },
    );
  }
  const source = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<
    string,
    unknown
  >;
  const handlers: Handlers = {};
  for (const [name, fn] of Object.entries(source)) {
    if (name === 'default' || typeof fn !== 'function') continue;
    handlers[name] = fn as JobHandler<unknown>;
  }
  if (Object.keys(handlers).length === 0) {
    throw IntegrationError.configuration(
      ErrorCode.InvalidConfiguration,
      `Handlers module ${file} exports no handler functions ({ [queue]: handler })`,
    );
  }
  return handlers;
}

export { BUILTIN_QUEUES };
