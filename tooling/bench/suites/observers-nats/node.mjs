// One observer process of the observers-nats bench. Env:
//   DB_URL, SCHEMA, CHANGE_LOG, GROUP       the change log and the runtime's tables
//   ROLE = listener | worker | all          listener: the bridge; worker: pulls from NATS;
//                                           all without NATS_URL: the PostgreSQL-only runtime
//   NATS_URL, STREAM, PREFIX, DURABLE       the transport (absent: no transport)
//   MAX_PARALLELISM, SLEEP_MS               per worker; the action awaits SLEEP_MS (simulated I/O)
//   HC_MS, THRESHOLD_MS                     failover settings (absent: the runtime's defaults)
// Stdout protocol: `ready <leader|standby|worker>` once started; `n <count>` (actions run so far,
// at most every 10 ms); `event <id>` per action when EVENT_LINES=1; `failover` on takeover.
import { createObserverRuntime } from '@fraiseql/observers';
import { createNatsTransport } from '@fraiseql/observers-nats';
import { createSqlClient } from '@fraiseql/postgres';

const env = process.env;
const role = env.ROLE;
const sleepMs = Number(env.SLEEP_MS ?? 0);
const parallelism = Number(env.MAX_PARALLELISM ?? 20);
const out = (line) => process.stdout.write(`${line}\n`);
const logger = {
  debug() {},
  info() {},
  warn() {},
  error: (obj, msg) => process.stderr.write(`${msg} ${String(obj?.err?.message ?? '')}\n`),
};
const sql = await createSqlClient({ url: env.DB_URL, poolOptions: { max: 8 } });
const transport = env.NATS_URL
  ? await createNatsTransport({
      servers: env.NATS_URL,
      stream: env.STREAM,
      subjectPrefix: env.PREFIX,
      durable: env.DURABLE,
      maxInFlight: parallelism,
      logger,
    })
  : undefined;
const failover =
  env.HC_MS || env.THRESHOLD_MS
    ? {
        ...(env.HC_MS ? { healthCheckIntervalMs: Number(env.HC_MS) } : {}),
        ...(env.THRESHOLD_MS ? { failoverThresholdMs: Number(env.THRESHOLD_MS) } : {}),
      }
    : undefined;
const runtime = await createObserverRuntime({
  sql,
  schema: env.SCHEMA,
  changeLog: env.CHANGE_LOG,
  group: env.GROUP,
  listenerId: `${role}-${process.pid}`,
  role,
  ...(transport ? { transport } : {}),
  batchSize: Number(env.BATCH_SIZE ?? 500),
  pollIntervalMs: 1000,
  maxParallelism: parallelism,
  ...(failover ? { failover } : {}),
  logger,
  observers: [{ name: 'bench', entity: '*', actions: [{ type: 'io' }] }],
});
const eventLines = env.EVENT_LINES === '1';
let count = 0;
let shown = 0;
runtime.registerAction('io', async (event) => {
  if (eventLines) out(`event ${event.id}`);
  if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
});
runtime.on('executed', () => {
  count++;
});
runtime.on('failover', () => out('failover'));
setInterval(() => {
  if (count !== shown) {
    shown = count;
    out(`n ${count}`);
  }
}, 10);
await runtime.start();
const status = role === 'worker' ? { role: 'worker' } : await runtime.status();
out(`ready ${status.role}`);
process.on('SIGTERM', async () => {
  await runtime.stop().catch(() => undefined);
  await transport?.close().catch(() => undefined);
  await sql.close().catch(() => undefined);
  process.exit(0);
});
