import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueueProvider } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import type { Connector } from '../src/index';

export const pg = await checkService('postgres');
export const redis = await checkService('redis');

export interface PgQueue {
  sql: SqlClient;
  schema: string;
  queue: QueueProvider;
  /** Data of the pending jobs of a queue (destinations have no worker). */
  pending<T = unknown>(name: string): Promise<T[]>;
  close(): Promise<void>;
}

/** A queue-postgres provider in a schema of its own on the local server. */
export async function pgQueue(): Promise<PgQueue> {
  const sql = await createSqlClient({ url: pg.url });
  const schema = uniqueName('flows');
  const queue = await createPostgresQueue({
    sql,
    schema,
    pollIntervalMs: 100,
    queueDefaults: { retryDelayMs: 50 },
  });
  return {
    sql,
    schema,
    queue,
    pending: async <T>(name: string) =>
      (await queue.listJobs(name, { state: 'pending', limit: 1000 })).map((j) => j.data as T),
    close: async () => {
      await queue.close();
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await sql.close();
    },
  };
}

export interface Service {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** A local HTTP service: `handle` answers each request (status + JSON body). */
export async function startService(
  handle: (req: IncomingMessage, body: string) => { status: number; body?: unknown },
): Promise<Service> {
  const s: Service = { url: '', hits: [], close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      s.hits.push(`${req.method} ${req.url}`);
      const out = handle(req, body);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return s;
}

/** A tiny HTTP connector on fetch. */
export function httpConnector(name: string, baseUrl: string): Connector {
  return {
    name,
    type: 'http',
    test: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => undefined,
    async request({ method, path, body }) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}

export async function until(check: () => Promise<boolean> | boolean, ms = 15_000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Awaits a rejection with an IntegrationError `code` whose message matches `re`; returns the message. */
export async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; message: string },
  );
  if (!err) throw new Error(`expected ${code}, but it resolved`);
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
  if (re && !re.test(err.message))
    throw new Error(`message ${JSON.stringify(err.message)} does not match ${re}`);
  return err.message;
}
