// The wrapper counts in plain numbers on the hot path and reports them on scrape, and times out
// calls with one sweep timer: what a scrape shows and how timeouts behave must be what direct
// prom-client calls and a per-call timer gave.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type CacheProvider,
  ErrorCode,
  IntegrationError,
  type SearchProvider,
  SLO_LATENCY_BUCKETS_SECONDS,
  SloConfig,
  SloRegistry,
  SloTracker,
  withResilience,
} from '../src/index.ts';

/** A cache whose `get` answers after `delays[key]` ms (0: at once), failing for keys starting with "fail". */
function scriptedCache(delays: Record<string, number> = {}) {
  const pending = new Set<string>();
  const answer = async (key: string) => {
    const ms = delays[key] ?? 0;
    if (ms > 0) {
      pending.add(key);
      await new Promise((r) => setTimeout(r, ms));
      pending.delete(key);
    }
    if (key.startsWith('fail'))
      throw IntegrationError.provider(ErrorCode.ConnectionRefused, 'mem', `[cache-mem] ${key} refused`);
    return new TextEncoder().encode(key);
  };
  const cache = {
    name: 'mem',
    get: answer,
    set: async () => {},
    getJson: async () => null,
    setJson: async () => {},
    delete: async () => true,
    deletePattern: async () => 0,
    exists: async () => true,
    ttl: async () => 1,
    expire: async () => true,
    incr: async () => 1,
    getOrSet: async () => null,
    healthCheck: async () => true,
    close: async () => {},
  } as unknown as CacheProvider;
  return { cache, pending };
}

const lines = (text: string, re: RegExp) =>
  text
    .split('\n')
    .filter((l) => re.test(l))
    .sort();

describe('hot-path counting, exported on scrape', () => {
  it('request counts by outcome and the SLO series equal the calls made, across several scrapes', async () => {
    const registry = new Registry();
    const slo = new SloRegistry({ registry });
    const { cache } = scriptedCache();
    const c = withResilience('cache', cache, {
      registry,
      slo,
      resilience: { retry: false, breaker: { threshold: 5, halfOpenAfterMs: 60_000 } },
    });
    const value = (name: string, text: string) => {
      const line = text.split('\n').find((l) => l.startsWith(name));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const req = (outcome: string) =>
      `fraiseql_integration_requests_total{section="cache",provider="mem",operation="get",outcome="${outcome}"}`;

    // Zeroed before the first call.
    let text = await registry.metrics();
    expect(value(req('success'), text)).toBe(0);
    expect(value(req('error'), text)).toBe(0);
    expect(value(req('rejected'), text)).toBe(0);
    expect(text).not.toContain('fraiseql_integration_cache_get_total{');

    for (let i = 0; i < 250; i++) await c.get(`k${i}`);
    text = await registry.metrics();
    expect(value(req('success'), text)).toBe(250);
    expect(value('fraiseql_integration_cache_get_total{provider="mem"}', text)).toBe(250);
    expect(value('fraiseql_integration_cache_get_latency_seconds_count{provider="mem"}', text)).toBe(250);
    expect(
      value('fraiseql_integration_cache_get_latency_seconds_bucket{le="+Inf",provider="mem"}', text),
    ).toBe(250);

    // Scraping again without calls changes nothing (the pending counts were moved, not copied).
    expect(await registry.metrics()).toBe(text);

    // 5 backend failures open the breaker; 3 more are rejected without touching the backend.
    for (let i = 0; i < 5; i++) await expect(c.get(`fail${i}`)).rejects.toMatchObject({ code: 'IN501' });
    for (let i = 0; i < 3; i++) await expect(c.get('k')).rejects.toMatchObject({ code: 'IN503' });
    const json = await registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === 'fraiseql_integration_requests_total')!;
    const byOutcome = Object.fromEntries(
      requests.values.filter((v) => v.labels.operation === 'get').map((v) => [v.labels.outcome, v.value]),
    );
    expect(byOutcome).toEqual({ success: 250, error: 5, rejected: 3 });
    text = await registry.metrics();
    expect(value('fraiseql_integration_cache_get_total{provider="mem"}', text)).toBe(258);
    expect(value('fraiseql_integration_cache_get_errors_total{provider="mem"}', text)).toBe(8);
    expect(value('fraiseql_integration_cache_get_slo_violations_total{provider="mem"}', text)).toBe(8);
    expect(value('fraiseql_integration_circuit_rejections_total{section="cache",provider="mem"}', text)).toBe(
      3,
    );
    expect(slo.get('cache_get')!.snapshot()).toMatchObject({ total: 258, errors: 8, violations: 8 });
  });

  it('scrapes exactly what direct prom-client calls give: buckets, _sum, _count, totals, violations, errors', async () => {
    const registry = new Registry();
    const t = new SloTracker('cache_get', SloConfig.cacheRead(), { registry });
    // The reference: the same series fed by prom-client directly, as SloTracker used to.
    const reference = new Registry();
    const buckets = [...new Set([...SLO_LATENCY_BUCKETS_SECONDS, 0.01])].sort((a, b) => a - b);
    const prefix = 'fraiseql_integration_cache_get';
    const latency = new Histogram({
      name: `${prefix}_latency_seconds`,
      help: 'Latency of cache_get in seconds',
      labelNames: ['provider'],
      buckets,
      registers: [reference],
    });
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['provider'], registers: [reference] });
    const total = counter(`${prefix}_total`, 'Requests of cache_get');
    const violations = counter(
      `${prefix}_slo_violations_total`,
      'Requests of cache_get that missed the SLO (errors or slower than 10 ms)',
    );
    const errors = counter(`${prefix}_errors_total`, 'Failed requests of cache_get');

    // Durations on, below and above bucket bounds (and past the last one), two providers.
    const durations = [0, 0.5, 1, 2.5, 3, 10, 10.0001, 19.9, 50, 100, 999, 2500, 60_000, 75_000, -3];
    for (let round = 0; round < 3; round++) {
      for (const [i, ms] of durations.entries()) {
        const provider = i % 3 === 0 ? 'redis' : 'memory';
        t.recordSuccess(ms, provider);
        latency.observe({ provider }, Math.max(0, ms) / 1000);
        total.inc({ provider });
        if (!(ms <= 10)) violations.inc({ provider });
        if (i % 4 === 0) {
          t.recordError(provider, ms);
          latency.observe({ provider }, Math.max(0, ms) / 1000);
          t.recordError(provider);
          for (let k = 0; k < 2; k++) {
            total.inc({ provider });
            violations.inc({ provider });
            errors.inc({ provider });
          }
        }
      }
      // Every round, the whole text output matches, _sum to rounding.
      const ours = await registry.metrics();
      const theirs = await reference.metrics();
      const sumless = (s: string) => lines(s, /./).filter((l) => !l.includes('_sum{'));
      expect(sumless(ours)).toEqual(sumless(theirs));
      const sums = (s: string) => lines(s, /_sum\{/).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
      const [a, b] = [sums(ours), sums(theirs)];
      expect(a.length).toBe(2);
      for (const [i, x] of a.entries()) expect(x).toBeCloseTo(b[i]!, 9);
    }
  });

  it('two trackers of one name on one registry add to the same series; other registries stay apart', async () => {
    const a = new Registry();
    const b = new Registry();
    const t1 = new SloTracker('shared', SloConfig.default(), { registry: a });
    const t2 = new SloTracker('shared', SloConfig.default(), { registry: a });
    const t3 = new SloTracker('shared', SloConfig.default(), { registry: b });
    t1.recordSuccess(5, 'p');
    t2.recordSuccess(500, 'p');
    t2.recordError('p', 1);
    t3.recordSuccess(1, 'p');
    const ta = await a.metrics();
    expect(ta).toContain('fraiseql_integration_shared_total{provider="p"} 3');
    expect(ta).toContain('fraiseql_integration_shared_slo_violations_total{provider="p"} 2');
    expect(ta).toContain('fraiseql_integration_shared_errors_total{provider="p"} 1');
    expect(ta).toContain('fraiseql_integration_shared_latency_seconds_count{provider="p"} 3');
    expect(ta).toContain('fraiseql_integration_shared_latency_seconds_bucket{le="0.005",provider="p"} 2');
    const tb = await b.metrics();
    expect(tb).toContain('fraiseql_integration_shared_total{provider="p"} 1');
    expect(tb).toContain('fraiseql_integration_shared_latency_seconds_count{provider="p"} 1');
    // The in-process accounting stays per tracker.
    expect(t1.snapshot()).toMatchObject({ total: 1, violations: 0 });
    expect(t2.snapshot()).toMatchObject({ total: 2, violations: 2, errors: 1 });
  });

  it('counts into series it did not create through prom-client (no lost counts)', async () => {
    const registry = new Registry();
    // Someone else registered the counter first: ours must still count into it.
    const foreign = new Counter({
      name: 'fraiseql_integration_x_total',
      help: 'made elsewhere',
      labelNames: ['provider'],
      registers: [registry],
    });
    const t = new SloTracker('x', SloConfig.default(), { registry });
    t.recordSuccess(1, 'p');
    t.recordError('p');
    expect((await foreign.get()).values).toEqual([expect.objectContaining({ value: 2 })]);
    expect(await registry.metrics()).toContain('fraiseql_integration_x_errors_total{provider="p"} 1');
  });

  it('a NaN duration still throws TypeError like prom-client', () => {
    const t = new SloTracker('nan', SloConfig.default(), { registry: new Registry() });
    expect(() => t.recordSuccess(Number.NaN, 'p')).toThrow(TypeError);
  });

  it('follows a tracker replaced in the SloRegistry after the first call', async () => {
    const registry = new Registry();
    const slo = new SloRegistry({ registry });
    const { cache } = scriptedCache();
    const c = withResilience('cache', cache, { registry, slo, resilience: { retry: false } });
    await c.get('a');
    const replaced = slo.register('cache_get', {
      targetLatencyMs: 1,
      targetAvailability: 0.9,
      budgetPeriodDays: 1,
    });
    await c.get('b');
    expect(replaced.snapshot().total).toBe(1);
  });
});

describe('timeouts with one sweep timer', () => {
  it('rejects a slow call with IN500 (cache) / IN102 (search) and the same message', async () => {
    const { cache } = scriptedCache({ slow: 400 });
    const c = withResilience('cache', cache, { resilience: { timeoutMs: 40, retry: false, breaker: false } });
    const started = performance.now();
    const err = await c.get('slow').catch((e) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err).toMatchObject({ code: 'IN500', provider: 'mem' });
    expect(err.message).toBe('[cache-mem] get timed out after 40 ms');
    expect(took).toBeGreaterThanOrEqual(38);
    expect(took).toBeLessThan(1500);

    const search = {
      name: 'slow',
      search: () => new Promise(() => {}),
      healthCheck: async () => true,
      close: async () => {},
    } as unknown as SearchProvider;
    const s = withResilience('search', search, { resilience: { timeoutMs: 25, retry: false } });
    const serr = await s.search({ index: 'p', query: 'x' }).catch((e) => e);
    expect(serr).toMatchObject({ code: 'IN102', provider: 'slow' });
    expect(serr.message).toBe('[search-slow] search timed out after 25 ms');
  });

  it('of many concurrent calls only the slow one times out, also when it is not the oldest', async () => {
    const { cache } = scriptedCache({ slow: 500, alsoSlow: 500 });
    const registry = new Registry();
    const c = withResilience('cache', cache, {
      registry,
      resilience: { timeoutMs: 60, retry: false, breaker: false },
    });
    const keys = [
      ...Array.from({ length: 100 }, (_, i) => `a${i}`),
      'slow',
      ...Array.from({ length: 100 }, (_, i) => `b${i}`),
    ];
    const results = await Promise.allSettled(keys.map((k) => c.get(k)));
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [keys[i]] : []));
    expect(rejected).toEqual(['slow']);

    // Calls keep starting and finishing while a slow one waits; a late slow one times out on its own deadline.
    const first = c.get('slow').catch((e) => e);
    const quick: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      quick.push(c.get(`q${i}`));
      await new Promise((r) => setTimeout(r, 10));
    }
    const lateStart = performance.now();
    const late = c.get('alsoSlow').catch((e) => e);
    await expect(first).resolves.toMatchObject({ code: 'IN500' });
    await Promise.all(quick);
    const lateErr = await late;
    expect(lateErr).toMatchObject({ code: 'IN500' });
    expect(performance.now() - lateStart).toBeGreaterThanOrEqual(58);
    expect(await registry.metrics()).toContain(
      'fraiseql_integration_requests_total{section="cache",provider="mem",operation="get",outcome="error"} 3',
    );
  });

  it('a call that settles after its timeout changes nothing (no second settle, no unhandled rejection)', async () => {
    const { cache } = scriptedCache({ fail_late: 80 });
    const c = withResilience('cache', cache, { resilience: { timeoutMs: 20, retry: false, breaker: false } });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(c.get('fail_late')).rejects.toMatchObject({ code: 'IN500' });
      await new Promise((r) => setTimeout(r, 120));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a provider that throws synchronously rejects (and leaves no timer behind)', async () => {
    const cache = {
      ...scriptedCache().cache,
      get: () => {
        throw IntegrationError.provider(ErrorCode.ConnectionRefused, 'mem', 'sync');
      },
    } as unknown as CacheProvider;
    const c = withResilience('cache', cache, { resilience: { timeoutMs: 20, retry: false } });
    await expect(c.get('a')).rejects.toMatchObject({ code: 'IN501', message: 'sync' });
  });
});

// A child process (TypeScript sources through Node's own type stripping) shows whether the sweep
// timer holds the process: idle it must not, with a call in flight it must (as a per-call timer did).
const SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const RESOLVE_TS = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  if (/^\\.\\.?\\//.test(specifier) && !/\\.[cm]?[jt]s$/.test(specifier) && context.parentURL) {
    for (const ext of ['.ts', '/index.ts']) {
      const url = new URL(specifier + ext, context.parentURL);
      if (existsSync(fileURLToPath(url))) return next(url.href, context);
    }
  }
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(
  `data:text/javascript,${encodeURIComponent(RESOLVE_TS)}`,
)});`;

function runChild(script: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [
        '--experimental-transform-types',
        '--no-warnings',
        '--import',
        `data:text/javascript,${encodeURIComponent(REGISTER)}`,
        '--input-type=module',
        '-e',
        `const core = await import(${JSON.stringify(SRC)});\n${script}`,
      ],
      { timeout: 20_000 },
      (_err, stdout) => resolve({ code: child.exitCode, stdout, ms: performance.now() - started }),
    );
  });
}

const CHILD_CACHE = `
const store = new Map();
const cache = {
  name: 'mem',
  get: async (k) => store.get(k) ?? null,
  set: async (k, v) => void store.set(k, v),
  healthCheck: async () => true,
  close: async () => {},
};
`;

describe('the sweep timer and process exit', () => {
  it('does not keep an idle process alive after calls (timeout 60 s)', async () => {
    const { code, stdout, ms } = await runChild(`${CHILD_CACHE}
const { Registry } = await import('prom-client');
const registry = new Registry();
const c = core.withResilience('cache', cache, { registry, slo: new core.SloRegistry({ registry }), resilience: { timeoutMs: 60000 } });
for (let i = 0; i < 50; i++) await c.set('k' + i, 'v');
await Promise.all(Array.from({ length: 200 }, (_, i) => c.get('k' + (i % 50))));
console.log('done');
`);
    expect(stdout.trim()).toBe('done');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(15_000);
  }, 25_000);

  it('keeps the process alive while a call is in flight, until it times out', async () => {
    const { code, stdout } = await runChild(`${CHILD_CACHE}
cache.get = () => new Promise(() => {});
const c = core.withResilience('cache', cache, { resilience: { timeoutMs: 300, retry: false } });
c.get('x').then(() => console.log('resolved'), (e) => console.log(e.code));
`);
    expect(stdout.trim()).toBe('IN500');
    expect(code).toBe(0);
  }, 25_000);
});
