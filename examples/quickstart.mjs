// The library in one file, with no service to install: a memory cache and a PostgreSQL job queue
// on embedded PGlite (in memory here), behind one IntegrationService.
//   pnpm install && pnpm build && node examples/quickstart.mjs
import { createMemoryCache } from '@fraiseql/cache-memory';
import { IntegrationError, IntegrationService } from '@fraiseql/core';
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresQueue } from '@fraiseql/queue-postgres';

const sql = await createSqlClient({}); // {} = PGlite in memory; { embeddedDir } keeps it on disk
const cache = await createMemoryCache({ defaultTtlMs: 60_000 });
const queue = await createPostgresQueue({ sql });
const service = new IntegrationService({ cache, queue });

await service.cacheSet('user:1', JSON.stringify({ name: 'Ada' }), 30_000);
console.log('cached:', new TextDecoder().decode(await service.cacheGet('user:1')));
console.log(
  'one loader for 3 concurrent misses:',
  await Promise.all([1, 2, 3].map(() => cache.getOrSet('expensive', async () => ({ at: Date.now() })))),
);

const done = new Promise((resolve) => {
  const worker = queue.process('emails', async (job) => {
    console.log(`job ${job.id} attempt ${job.attempts}:`, job.data);
    await worker.close();
    resolve();
  });
});
await service.enqueue('emails', { to: 'ada@example.com' }, { priority: 5 });
await done;

try {
  await cache.set('k', 'v', -1);
} catch (err) {
  if (err instanceof IntegrationError)
    console.log('coded error:', err.code, err.httpStatus, JSON.stringify(err));
}
console.log('health:', await service.healthCheck());
console.log('slo:', service.slo.overallStatus());
await service.close();
await sql.close();
