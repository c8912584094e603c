// From a row insert to a webhook: a table with change capture, two observers, a local receiver
// that checks the HMAC signature. No service to install (PGlite in memory).
//   pnpm install && pnpm build && node examples/observers/run.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createObserverRuntime, installChangeCapture } from '@fraiseql/observers';
import { createSqlClient } from '@fraiseql/postgres';

const SECRET = process.env.ORDER_HOOK_SECRET ?? 'dev-secret';

// 1. A webhook receiver that verifies x-fraiseql-signature before trusting the body.
const received = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-fraiseql-signature'] ?? ''));
    const valid = given.length === expected.length && timingSafeEqual(given, expected);
    const { event, observer } = JSON.parse(body);
    received.push(event.entity_id);
    console.log(
      `webhook ${observer}: ${event.kind} ${event.entity} ${event.entity_id} total=${event.data.total} signature ${valid ? 'ok' : 'BAD'}`,
    );
    res.writeHead(valid ? 200 : 401).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks/orders`;

// 2. A table, and a trigger that writes its changes to tb_entity_change_log.
const sql = await createSqlClient({}); // { url: process.env.DATABASE_URL } for a server
await sql.exec('CREATE TABLE orders (id text PRIMARY KEY, status text NOT NULL, total numeric NOT NULL)');
await installChangeCapture(sql, { table: 'orders', entity: 'Order' });

// 3. Two observers: big new orders go to the webhook; every paid order is logged by a custom action.
const runtime = await createObserverRuntime({
  sql,
  pollIntervalMs: 200,
  observers: [
    {
      name: 'big-order',
      entity: 'Order',
      events: ['INSERT'],
      condition: "total >= 1000 and status == 'new'",
      actions: [{ type: 'webhook', url: hookUrl, secret: SECRET }],
    },
    {
      name: 'paid',
      entity: 'Order',
      events: ['UPDATE'],
      condition: "status == 'paid'",
      actions: [{ type: 'log' }],
    },
  ],
});
runtime.registerAction('log', async (event) => console.log(`log: order ${event.entityId} is paid`));
let executed = 0;
runtime.on('executed', () => executed++);
await runtime.start();

// 4. Plain SQL; the observers react.
await sql.query("INSERT INTO orders VALUES ('o-1', 'new', 1500), ('o-2', 'new', 20)");
await sql.query("UPDATE orders SET status = 'paid' WHERE id = 'o-1'");
while (executed < 3) await new Promise((r) => setTimeout(r, 50));

const status = await runtime.status();
console.log(`checkpoint ${status.checkpoint}, leader ${status.leader}, DLQ ${status.dlqSize}`);
await runtime.stop();
await sql.close();
receiver.close();
if (received.join(',') !== 'o-1') {
  console.error(`expected one webhook for o-1, got ${JSON.stringify(received)}`);
  process.exit(1);
}
