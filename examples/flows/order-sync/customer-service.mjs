// A stand-in customer service: GET /customers/:id answers the customer, 404 for unknown ids.
import { createServer } from 'node:http';

const CUSTOMERS = {
  c1: { name: 'Ada Lovelace', tier: 'gold' },
  c2: { name: 'Grace Hopper', tier: 'silver' },
  c3: { name: 'Alan Turing', tier: 'basic' },
};

/** Starts the service on `port` (0 = any free port); resolves `{ url, hits, close }`. */
export async function startCustomerService(port = 0) {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(req.url);
    const id = decodeURIComponent(req.url?.match(/^\/customers\/([^/?]+)/)?.[1] ?? '');
    const customer = Object.hasOwn(CUSTOMERS, id) ? CUSTOMERS[id] : undefined;
    res.writeHead(customer ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(customer ?? { error: `no customer ${id}` }));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startCustomerService(Number(process.env.PORT ?? 4100));
  console.log(`customer service on ${s.url}`);
}
