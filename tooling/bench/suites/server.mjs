// The HTTP server app: `GET /cache/:key` through @fraiseql/server (auth check, validation,
// metrics, error mapping, SLO timing) against a bare Fastify route that reads the same cache
// object (what createIntegrations returns, memory backend) and sends the bytes. Load comes from
// autocannon in a worker thread, 10 connections, no pipelining.
import { createIntegrations } from '@fraiseql/core';
import { startServer } from '@fraiseql/server';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { compareOne } from '../lib/harness.mjs';

export const name = 'server';

const KEY = 'bench-key';

function load(url, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 10, pipelining: 1, duration: seconds, workers: 1 }, (err, result) => {
      if (err) return reject(err);
      if (result.non2xx > 0 || result.errors > 0) {
        return reject(new Error(`${url}: ${result.non2xx} non-2xx responses, ${result.errors} errors`));
      }
      resolve(result.requests.average);
    });
  });
}

export async function run(ctx) {
  const seconds = ctx.quick ? 1 : 3;
  const rounds = ctx.quick ? 3 : 7;
  const registry = new Registry();
  const integrations = await createIntegrations(
    { cache: { backend: 'memory' } },
    { registry, env: {}, cwd: new URL('..', import.meta.url).pathname },
  );
  const cache = integrations.cache;
  await cache.set(KEY, Buffer.alloc(100, 7));

  const ours = await startServer({
    integrations,
    registry,
    port: 0,
    host: '127.0.0.1',
    token: '',
    env: {},
    closeIntegrations: false,
  });
  const bare = Fastify({ logger: false });
  bare.get('/cache/:key', async (req, reply) => {
    const value = await cache.get(req.params.key);
    if (value === null) return reply.code(404).send();
    return reply
      .type('application/octet-stream')
      .send(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  });
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  try {
    // Both answer the same bytes before anything is timed.
    for (const base of [ours.url, bareUrl]) {
      const r = await fetch(`${base}/cache/${KEY}`);
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200 || body.length !== 100) throw new Error(`server: sanity check failed on ${base}`);
    }
    return [
      await compareOne({
        benchmark: 'server: GET /cache/:key (memory cache, 100-byte value), 10 connections',
        unit: 'req/s',
        aim: 0.7,
        peerName: 'bare Fastify route reading the same cache',
        rounds,
        log: ctx.log,
        ours: () => load(`${ours.url}/cache/${KEY}`, seconds),
        peer: () => load(`${bareUrl}/cache/${KEY}`, seconds),
      }),
    ];
  } finally {
    await ours.close();
    await bare.close();
    await integrations.close();
  }
}
