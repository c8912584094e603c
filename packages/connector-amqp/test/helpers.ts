import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { type ChannelModel, connect } from 'amqplib';

export const rabbit = await checkService('rabbitmq');
const run = promisify(execFile);

/** Waits until `cond()` holds, polling; fails naming `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Names of this test run: exchanges/queues get a unique prefix so parallel runs never meet. */
export function names(prefix: string) {
  const base = uniqueName(prefix);
  return (n: string) => `${base}.${n}`;
}

/** A raw amqplib connection for arranging and inspecting (publishing fixtures, counting, deleting). */
export async function rawAmqp(): Promise<ChannelModel> {
  const m = await connect(rabbit.url);
  m.on('error', () => {});
  return m;
}

/** Deletes queues and exchanges a test created (best effort). */
export async function cleanup(m: ChannelModel, queues: string[], exchanges: string[]): Promise<void> {
  const ch = await m.createChannel();
  ch.on('error', () => {});
  for (const q of queues) await ch.deleteQueue(q).catch(() => {});
  for (const e of exchanges) await ch.deleteExchange(e).catch(() => {});
  await ch.close().catch(() => {});
}

/** Force-closes the broker connections whose `connection_name` is `connectionName` (like an operator would). */
export async function closeConnections(connectionName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
    timeout: 30_000,
  });
  // close_connection takes the connection's Erlang pid (`<rabbit@host.1.2.3>`), not its name.
  const pids = stdout
    .split('\n')
    .filter((l) => l.includes(`{"connection_name","${connectionName}"}`))
    .map((l) => l.split('\t')[0] as string);
  for (const p of pids) await run('rabbitmqctl', ['-q', 'close_connection', p, 'test'], { timeout: 30_000 });
  return pids.length;
}

export interface Sink {
  url: string;
  requests: { path: string; body: unknown }[];
  /** Delay before answering, per request (a slow destination). */
  delayMs: number;
  close(): Promise<void>;
}

/** An HTTP destination recording every JSON body it is sent. */
export async function httpSink(delayMs = 0): Promise<Sink> {
  const sink: Sink = { url: '', requests: [], delayMs, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sink.requests.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
        sink.delayMs,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return sink;
}

/** How often each id was seen: `lost` ids never arrived, `duplicates` arrived more than once. */
export function tally(ids: readonly string[], expected: readonly string[]) {
  const seen = new Map<string, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  return {
    lost: expected.filter((id) => !seen.has(id)),
    duplicates: [...seen.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0),
  };
}

export const PROTO = new URL('./fixtures/inventory.proto', import.meta.url).pathname;

export interface InventoryServer {
  endpoint: string;
  /** `order_id`s of the Update calls, in arrival order (duplicates kept). */
  orderIds: string[];
  close(): Promise<void>;
}

/** An `inventory.Inventory` gRPC server on a free port, recording every Update. */
export async function startInventory(): Promise<InventoryServer> {
  const grpc = await import('@grpc/grpc-js');
  const { loadSync } = await import('@grpc/proto-loader');
  const pkg = grpc.loadPackageDefinition(loadSync(PROTO, { keepCase: true, defaults: true }));
  const service = (pkg.inventory as Record<string, { service: import('@grpc/grpc-js').ServiceDefinition }>)
    .Inventory;
  const server = new grpc.Server();
  const orderIds: string[] = [];
  server.addService(service!.service, {
    Update(
      call: { request: { sku: string; delta: number; order_id: string } },
      cb: (e: null, r: unknown) => void,
    ) {
      orderIds.push(call.request.order_id);
      cb(null, { sku: call.request.sku, quantity: call.request.delta });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    orderIds,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}
