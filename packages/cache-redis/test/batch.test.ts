import { checkService, uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import { createRedisCache } from '../src/index.ts';

const redis = await checkService('redis');

describe.skipIf(!redis.available)('redis cache: gets of one tick share one MGET', () => {
  it('answers every concurrent get with its own value (hits, misses, expired) from one MGET', async () => {
    const cache = await createRedisCache({ url: redis.url, prefix: `${uniqueName('mget')}:` });
    try {
      for (let i = 0; i < 100; i += 2) await cache.set(`k${i}`, `v${i}`);
      await cache.set('short', 'gone', 1);
      await new Promise((r) => setTimeout(r, 20));
      const sent: string[] = [];
      const client = cache.client as unknown as { sendCommand: (c: { name: string }) => unknown };
      const send = client.sendCommand.bind(client);
      client.sendCommand = (c) => {
        sent.push(c.name);
        return send(c);
      };
      const keys = [...Array.from({ length: 100 }, (_, i) => `k${i}`), 'short'];
      const values = await Promise.all(keys.map((k) => cache.get(k)));
      const text = values.map((v) => (v === null ? null : new TextDecoder().decode(v)));
      expect(text).toEqual([...Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `v${i}` : null)), null]);
      expect(sent.filter((n) => n === 'mget')).toHaveLength(1);
      expect(sent.filter((n) => n === 'get')).toHaveLength(0);
      // A lone get is still a plain GET.
      sent.length = 0;
      expect(new TextDecoder().decode((await cache.get('k0'))!)).toBe('v0');
      expect(sent).toEqual(['get']);
    } finally {
      await cache.close();
    }
  });
});
