import { IntegrationService, SloRegistry, withResilience } from '@fraiseql/core';
import { servicesRequired, uniqueName } from '@fraiseql/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../../../tooling/redis-server.ts';
import { createRedisCache } from '../src/index.ts';

const installed = redisServerInstalled();
if (!installed && servicesRequired())
  throw new Error('FRAISEQL_REQUIRE_SERVICES=1 but redis-server is not installed');

// Issue 6: the backend disappears → coded errors → IN503 without touching it → half-open probe
// recovers once it is back, with the same provider object.
describe.skipIf(!installed)('redis cache behind the resilience wrapper (real outage)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('opens the breaker while Redis is down and closes it through half-open when it returns', async () => {
    const registry = new Registry();
    const slo = new SloRegistry({ registry });
    const inner = await createRedisCache({
      url: server.url,
      prefix: `${uniqueName('res')}:`,
      commandTimeoutMs: 500,
    });
    const cache = withResilience('cache', inner, {
      registry,
      slo,
      resilience: {
        timeoutMs: 1000,
        breaker: { threshold: 3, halfOpenAfterMs: 100, maxHalfOpenAfterMs: 400 },
        retry: false,
      },
    });
    const service = new IntegrationService({ cache, slo });
    try {
      await cache.set('k', 'v');
      await server.kill();
      const codes: string[] = [];
      for (let i = 0; i < 3; i++)
        codes.push(
          await cache.set('k', 'v').then(
            () => 'ok',
            (e) => e.code,
          ),
        );
      expect(
        codes.every((c) => /^IN(201|50[0-2])$/.test(c)),
        codes.join(),
      ).toBe(true);
      // Open: rejected without sending anything to Redis, even for reads.
      const client = inner.client as unknown as { sendCommand: (...a: unknown[]) => unknown };
      const send = client.sendCommand.bind(client);
      let sent = 0;
      client.sendCommand = (...a: unknown[]) => {
        sent++;
        return send(...a);
      };
      await expect(cache.get('k')).rejects.toMatchObject({ code: 'IN503', provider: 'redis' });
      await expect(cache.incr('n')).rejects.toMatchObject({ code: 'IN503' });
      expect(sent).toBe(0);
      expect((await service.status())['cache:redis']).toMatchObject({ healthy: false, breaker: 'open' });
      expect(await registry.getSingleMetricAsString('fraiseql_integration_circuit_state')).toContain(
        'provider="redis"} 2',
      );

      await server.start();
      let value: Uint8Array | null | undefined;
      const deadline = Date.now() + 15_000;
      while (value === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        value = await cache.get('k').catch(() => undefined);
      }
      // The server restarted empty (no persistence): a miss, served by the same provider.
      expect(value).toBeNull();
      await cache.set('k', 'back');
      expect(new TextDecoder().decode((await cache.get('k'))!)).toBe('back');
      expect((await service.status())['cache:redis']).toMatchObject({ healthy: true, breaker: 'closed' });
    } finally {
      await cache.close();
    }
  }, 40_000);
});
