// The seed's order-sync flow, end to end on embedded defaults (no service to install):
//   pnpm install && pnpm build && node examples/flows/order-sync/run.mjs
// 1. starts a local customer service; 2. starts `fraiseql-integrations serve --flows flows.yaml`
// in a scratch directory (queues in PGlite); 3. enqueues orders through the HTTP API; 4. waits for
// the flow and prints where every order landed: high-value-orders, regular-orders or failed-orders.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCustomerService } from './customer-service.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'order-sync-'));

const customers = await startCustomerService();
const serve = spawn(process.execPath, [bin, 'serve', '--port', '0', '--flows', join(here, 'flows.yaml')], {
  cwd: scratch,
  env: { ...process.env, CUSTOMER_SERVICE_URL: customers.url, FRAISEQL_API_TOKEN: '' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let exitCode = 1;
try {
  const url = await new Promise((resolve, reject) => {
    let out = '';
    serve.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const api = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };

  const orders = [
    {
      orderId: 'o-1',
      customerId: 'c1',
      customerEmail: 'ada@example.com',
      orderItems: [{ sku: 'A', qty: 1 }],
      orderTotal: 2500,
    },
    {
      orderId: 'o-2',
      customerId: 'c2',
      customerEmail: 'grace@example.com',
      orderItems: [{ sku: 'B', qty: 2 }],
      orderTotal: 120,
    },
    {
      orderId: 'o-3',
      customerId: 'c3',
      customerEmail: 'alan@example.com',
      orderItems: [{ sku: 'C', qty: 1 }],
      orderTotal: 999.99,
    },
    {
      orderId: 'o-4',
      customerId: 'c1',
      customerEmail: 'ada@example.com',
      orderItems: [{ sku: 'D', qty: 9 }],
      orderTotal: 1000,
    },
    // No items: the JSON Schema refuses it, so it goes straight to failed-orders with the step name.
    { orderId: 'o-5', customerId: 'c2', customerEmail: 'grace@example.com', orderItems: [], orderTotal: 10 },
  ];
  for (const data of orders) await api('POST', '/queues/orders/jobs', { data });

  const deadline = Date.now() + 30_000;
  let status;
  do {
    await new Promise((r) => setTimeout(r, 200));
    status = await api('GET', '/flows/order-sync');
  } while (status.processed + status.dlq < orders.length && Date.now() < deadline);
  console.log(`flow order-sync: ${status.state}, processed ${status.processed}, dead-lettered ${status.dlq}`);

  const landed = {};
  for (const queue of ['high-value-orders', 'regular-orders', 'failed-orders']) {
    const { jobs } = await api('GET', `/queues/${queue}/jobs?state=pending&limit=100`);
    landed[queue] = jobs.map((j) => j.data);
    for (const d of landed[queue])
      console.log(
        queue === 'failed-orders'
          ? `${queue.padEnd(18)} ${d.message.body.orderId ?? d.message.body.id}  step=${d.step}  ${d.reason}`
          : `${queue.padEnd(18)} ${d.id}  total=${d.total}  customer=${d.customer.profile?.name} (${d.customer.profile?.tier})`,
      );
  }
  const ids = (q) =>
    landed[q]
      .map((d) => d.id ?? d.message?.body?.id ?? d.message?.body?.orderId)
      .sort()
      .join(',');
  const ok =
    ids('high-value-orders') === 'o-1,o-4' &&
    ids('regular-orders') === 'o-2,o-3' &&
    ids('failed-orders') === 'o-5' &&
    customers.hits.filter((h) => h === '/customers/c1').length === 1;
  console.log(
    ok
      ? 'every order landed where it should'
      : `UNEXPECTED: see above (customer lookups: ${customers.hits.join(' ')})`,
  );
  exitCode = ok ? 0 : 1;
} finally {
  if (serve.exitCode === null && serve.signalCode === null) {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
  }
  await customers.close();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
