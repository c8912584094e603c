import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { createObserverRuntime, ensureChangeLog } from '../src/index';
import type { EntityEvent, ExecutionSummary, ObserverRuntime, ObserverRuntimeOptions } from '../src/types';

export const pg = await checkService('postgres');

/** A database per test file: the shared server in a schema of its own, or an in-memory PGlite. */
export interface Db {
  name: 'postgres' | 'pglite';
  sql: SqlClient;
  schema: string;
  /** A fresh change log per test (`useFreshLog`), so a group never sees another test's events. */
  changeLog: string;
  useFreshLog(): Promise<void>;
  /** Seed-style insert into the change log; resolves to the new id. */
  insert(entity: string, entityId: string, kind: string, data: unknown): Promise<string>;
  close(): Promise<void>;
}

export async function openDb(name: 'postgres' | 'pglite'): Promise<Db> {
  const sql = name === 'postgres' ? await createSqlClient({ url: pg.url }) : await createSqlClient({});
  const schema = uniqueName('obs');
  let n = 0;
  const db: Db = {
    name,
    sql,
    schema,
    changeLog: `${schema}.tb_entity_change_log`,
    useFreshLog: async () => {
      db.changeLog = `${schema}.log_${n++}`;
      await ensureChangeLog(sql, { table: db.changeLog });
    },
    insert: async (entity, entityId, kind, data) => {
      const { rows } = await sql.query<{ id: string | number }>(
        `INSERT INTO ${db.changeLog.replace(/^([^.]+)\.(.+)$/, '"$1"."$2"')} (object_type, object_id, modification_type, object_data) VALUES ($1, $2, $3, $4::jsonb) RETURNING id`,
        [entity, entityId, kind, JSON.stringify(data)],
      );
      return String(rows[0]?.id);
    },
    close: async () => {
      if (name === 'postgres')
        await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await sql.close();
    },
  };
  await ensureChangeLog(sql, { table: db.changeLog });
  return db;
}

/** A runtime on `db` with fast polling; tests stop it in `finally`. */
export async function runtimeOn(
  db: Db,
  opts: Partial<ObserverRuntimeOptions> & Pick<ObserverRuntimeOptions, 'observers'>,
): Promise<ObserverRuntime & { registry: Registry }> {
  const registry = opts.registry ?? new Registry();
  const runtime = await createObserverRuntime({
    sql: db.sql,
    schema: db.schema,
    changeLog: db.changeLog,
    pollIntervalMs: 100,
    failover: { healthCheckIntervalMs: 200, failoverThresholdMs: 2000 },
    registry,
    ...opts,
  });
  return Object.assign(runtime, { registry });
}

/** Resolves once `n` 'executed' summaries arrived (or rejects after `ms`). */
export function executed(runtime: ObserverRuntime, n: number, ms = 15_000): Promise<ExecutionSummary[]> {
  const seen: ExecutionSummary[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${seen.length} of ${n} events executed in ${ms} ms`)),
      ms,
    );
    runtime.on('executed', (s) => {
      seen.push(s);
      if (seen.length === n) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

export async function until(
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values.reduce(
    (sum, v) => sum + ((v as { metricName?: string }).metricName?.endsWith('_bucket') ? 0 : v.value),
    0,
  );
}

export interface Receiver {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  /** What the next requests answer: a status, or 'hang' (no answer). */
  respond: (req: { url: string; n: number }) => number | 'hang';
  close(): Promise<void>;
}

/** A local HTTP receiver for webhook actions. */
export async function startReceiver(respond: Receiver['respond'] = () => 200): Promise<Receiver> {
  const r: Receiver = { url: '', requests: [], respond, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      r.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const status = r.respond({ url: req.url ?? '', n: r.requests.length });
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

export function event(over: Partial<EntityEvent> = {}): EntityEvent {
  return {
    id: '1',
    source: 'default',
    entity: 'Order',
    entityId: 'o-1',
    kind: 'INSERT',
    data: { status: 'new', total: 10 },
    createdAt: new Date(),
    ...over,
  };
}

export const databases = (['postgres', 'pglite'] as const).filter((d) => d === 'pglite' || pg.available);
