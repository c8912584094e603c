import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type CacheProvider,
  ErrorCode,
  IntegrationError,
  IntegrationService,
  parseConfig,
  type SearchProvider,
  SloRegistry,
  withResilience,
} from '../src/index.ts';

/** A cache whose backend can be switched off, slowed down, and whose calls are counted. */
function fakeCache() {
  const calls: string[] = [];
  const store = new Map<string, unknown>();
  const state = { down: false, delayMs: 0, failWith: ErrorCode.ConnectionRefused as ErrorCode };
  const op =
    <A extends unknown[], R>(name: string, fn: (...a: A) => R) =>
    async (...a: A): Promise<Awaited<R>> => {
      calls.push(name);
      if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.down)
        throw IntegrationError.provider(
          state.failWith,
          'fake',
          `[cache-fake] ${name} failed: connect ECONNREFUSED`,
        );
      return fn(...a) as Awaited<R>;
    };
  const cache: CacheProvider = {
    name: 'fake',
    get: op('get', (k: string) => (store.has(k) ? new TextEncoder().encode(String(store.get(k))) : null)),
    set: op('set', (k: string, v: Uint8Array | string) => void store.set(k, v)),
    getJson: op('getJson', (k: string) => (store.has(k) ? (store.get(k) as any) : null)),
    setJson: op('setJson', (k: string, v: unknown) => void store.set(k, v)),
    delete: op('delete', (k: string) => store.delete(k)),
    deletePattern: op('deletePattern', () => 0),
    exists: op('exists', (k: string) => store.has(k)),
    ttl: op('ttl', () => 1000),
    expire: op('expire', () => true),
    incr: op('incr', () => 1),
    getOrSet: async () => {
      throw new Error('not used');
    },
    healthCheck: async () => !state.down,
    close: async () => {},
  };
  return { cache, calls, state };
}

const fast = {
  breaker: { threshold: 3, halfOpenAfterMs: 50, maxHalfOpenAfterMs: 200 },
  retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
};

describe('resilience wrapper', () => {
  it('fails with coded errors, then opens: IN503 at once without touching the backend; half-open probe closes it', async () => {
    const registry = new Registry();
    const { cache, calls, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { ...fast, retry: false }, registry });
    await c.set('a', 'x');
    state.down = true;
    for (let i = 0; i < 3; i++) await expect(c.set('a', 'x')).rejects.toMatchObject({ code: 'IN501' });
    const before = calls.length;
    const rejected = await c.set('a', 'x').catch((e) => e);
    expect(rejected).toMatchObject({ code: 'IN503', kind: 'circuit_open', provider: 'fake' });
    expect(rejected.httpStatus).toBe(503);
    await expect(c.get('a')).rejects.toMatchObject({ code: 'IN503' });
    expect(calls.length).toBe(before); // the backend saw none of the rejected calls
    expect(c[Symbol.for('fraiseql.resilience') as never]).toBeDefined();
    expect(await registry.getSingleMetricAsString('fraiseql_integration_circuit_state')).toContain(
      '{section="cache",provider="fake"} 2',
    );

    // Still down at the first probe: it opens again (with a longer wait).
    await new Promise((r) => setTimeout(r, 70));
    await expect(c.set('a', 'x')).rejects.toMatchObject({ code: 'IN501' });
    await expect(c.set('a', 'x')).rejects.toMatchObject({ code: 'IN503' });

    state.down = false;
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await new Promise((r) => setTimeout(r, 20));
      ok = await c.set('a', 'y').then(
        () => true,
        () => false,
      );
    }
    expect(ok).toBe(true);
    expect(await c.exists('a')).toBe(true);
    expect(await registry.getSingleMetricAsString('fraiseql_integration_circuit_state')).toContain(
      '{section="cache",provider="fake"} 0',
    );
  });

  it('does not open the breaker on bad input or not-found', async () => {
    const { cache, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { ...fast, retry: false } });
    state.down = true;
    state.failWith = ErrorCode.InvalidTtl;
    for (let i = 0; i < 10; i++) await expect(c.set('a', 'x')).rejects.toMatchObject({ code: 'IN204' });
    state.failWith = ErrorCode.CacheKeyNotFound;
    for (let i = 0; i < 10; i++) await expect(c.get('a')).rejects.toMatchObject({ code: 'IN200' });
  });

  it('retries idempotent reads on transient errors and never re-runs writes', async () => {
    const { cache, calls, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { ...fast, breaker: false } });
    state.down = true;
    await expect(c.get('a')).rejects.toMatchObject({ code: 'IN501' });
    expect(calls.filter((x) => x === 'get')).toHaveLength(3); // 1 + 2 retries
    for (const write of [
      () => c.set('a', 'x'),
      () => c.incr('n'),
      () => c.delete('a'),
      () => c.setJson('j', 1),
      () => c.expire('a', 10),
      () => c.deletePattern('*'),
    ]) {
      calls.length = 0;
      await expect(write()).rejects.toMatchObject({ code: 'IN501' });
      expect(calls).toHaveLength(1);
    }
    // Not transient (a provider error): no retry either.
    calls.length = 0;
    state.failWith = ErrorCode.RedisError;
    await expect(c.get('a')).rejects.toMatchObject({ code: 'IN403' });
    expect(calls).toHaveLength(1);
  });

  it('times out slow calls with a coded error (IN500 for cache, IN102 for search)', async () => {
    const { cache, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { timeoutMs: 30, retry: false } });
    state.delayMs = 300;
    await expect(c.set('a', 'x')).rejects.toMatchObject({ code: 'IN500' });
    const search = {
      name: 'slow',
      search: () => new Promise(() => {}),
      healthCheck: async () => true,
      close: async () => {},
    } as unknown as SearchProvider;
    const s = withResilience('search', search, { resilience: { timeoutMs: 30, retry: false } });
    await expect(s.search({ index: 'p', query: 'x' })).rejects.toMatchObject({ code: 'IN102' });
  });

  it('getOrSet degrades when the cache is down: the loader runs once for concurrent callers', async () => {
    const { cache, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { ...fast, retry: false } });
    state.down = true;
    let loads = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        c.getOrSet('k', async () => {
          loads++;
          await new Promise((r) => setTimeout(r, 20));
          return { v: 1 };
        }),
      ),
    );
    expect(loads).toBe(1);
    expect(results).toEqual(Array(10).fill({ v: 1 }));
    state.down = false;
    await expect(c.getOrSet('', async () => 1)).rejects.toMatchObject({ code: 'IN205' });
  });

  it('records SLO timing once and exposes breaker state in service status', async () => {
    const registry = new Registry();
    const slo = new SloRegistry({ registry });
    const { cache, state } = fakeCache();
    const c = withResilience('cache', cache, { resilience: { ...fast, retry: false }, registry, slo });
    const service = new IntegrationService({ cache: c, slo });
    await service.cacheSet('a', 'x');
    await service.cacheGet('a');
    expect(slo.get('cache_set')!.snapshot().total).toBe(1);
    expect(slo.get('cache_get')!.snapshot().total).toBe(1);
    state.down = true;
    for (let i = 0; i < 4; i++) await service.cacheGet('a').catch(() => {});
    const status = await service.status();
    expect(status['cache:fake']).toMatchObject({ healthy: false, breaker: 'open' });
    expect(status['cache:fake']!.budgetRemaining).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain(
      'fraiseql_integration_requests_total{section="cache",provider="fake",operation="get",outcome="rejected"} 1',
    );
    expect(text).toContain(
      'fraiseql_integration_requests_total{section="cache",provider="fake",operation="incr",outcome="success"} 0',
    );
  });

  it('validates [section.resilience] in the config file, reporting every bad path', () => {
    const toml = `
[cache]
backend = "memory"
[cache.resilience]
timeout_ms = -1
breaker = { kind = "fancy", window_ms = 1000, color = "red" }
retry = { max_attempts = 3 }
`;
    let err: any;
    try {
      parseConfig(toml);
    } catch (e) {
      err = e;
    }
    expect(err?.code).toBe('IN002');
    expect(err.message).toContain('cache.resilience.timeout_ms');
    expect(err.message).toContain('cache.resilience.breaker.kind');
    expect(err.message).toMatch(/color/);
    const ok = parseConfig(
      `[cache]\nbackend = "memory"\n[cache.resilience]\ntimeout_ms = 250\nretry = false\nbreaker = { kind = "sampling", threshold = 0.2, window_ms = 10000 }\n`,
    );
    expect(ok.cache?.resilience).toEqual({
      timeoutMs: 250,
      retry: false,
      breaker: { kind: 'sampling', threshold: 0.2, windowMs: 10000 },
    });
  });
});
