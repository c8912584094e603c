import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SloConfig, SloRegistry, SloTracker } from '../src/index.ts';

describe('SloTracker', () => {
  // Port of "test_slo_tracker_records_success".
  it('stays within SLO with fast successes', () => {
    const t = new SloTracker('test_operation', SloConfig.default());
    t.recordSuccess(50);
    t.recordSuccess(80);
    expect(t.isWithinSlo()).toBe(true);
    expect(t.errorBudgetRemaining()).toBeGreaterThan(0.99);
  });

  // Port of "test_slo_tracker_detects_violations".
  it('counts slow successes as violations', () => {
    const t = new SloTracker('test_operation', {
      targetLatencyMs: 100,
      targetAvailability: 0.99,
      budgetPeriodDays: 30,
    });
    for (let i = 0; i < 99; i++) t.recordSuccess(50);
    t.recordSuccess(150);
    const budget = t.errorBudgetRemaining();
    expect(budget).toBeGreaterThanOrEqual(0);
    expect(budget).toBeLessThanOrEqual(0.1);
  });

  // Port of "test_slo_tracker_errors_count_as_violations".
  it('counts errors as violations', () => {
    const t = new SloTracker('test_operation', SloConfig.default());
    t.recordError();
    t.recordSuccess(50);
    t.recordSuccess(50);
    expect(t.errorBudgetRemaining()).toBeLessThan(1);
    expect(t.errorBudgetRemaining()).toBe(0);
    expect(t.isWithinSlo()).toBe(false);
  });

  it('computes the budget by the formula and is 1 with no requests', () => {
    const t = new SloTracker('formula', {
      targetLatencyMs: 100,
      targetAvailability: 0.9,
      budgetPeriodDays: 1,
    });
    expect(t.errorBudgetRemaining()).toBe(1);
    for (let i = 0; i < 19; i++) t.recordSuccess(1);
    t.recordError();
    // violations/total = 0.05; allowed 0.1 → half the budget left
    expect(t.errorBudgetRemaining()).toBeCloseTo(0.5, 10);
  });

  it('ages old events out of the budget period', () => {
    let now = Date.UTC(2026, 0, 1);
    const t = new SloTracker(
      'aging',
      { targetLatencyMs: 100, targetAvailability: 0.99, budgetPeriodDays: 1 },
      { now: () => now },
    );
    for (let i = 0; i < 10; i++) t.recordError();
    expect(t.errorBudgetRemaining()).toBe(0);
    now += 2 * 86_400_000;
    expect(t.errorBudgetRemaining()).toBe(1);
    t.recordSuccess(5);
    expect(t.snapshot()).toMatchObject({ total: 1, violations: 0, errors: 0 });
  });

  it('reports burn rate over a window', () => {
    let now = Date.UTC(2026, 0, 1);
    const t = new SloTracker(
      'burn',
      { targetLatencyMs: 100, targetAvailability: 0.99, budgetPeriodDays: 30 },
      { now: () => now },
    );
    expect(t.burnRate(300_000)).toBe(0);
    for (let i = 0; i < 90; i++) t.recordSuccess(1);
    for (let i = 0; i < 10; i++) t.recordError();
    expect(t.burnRate(300_000)).toBeCloseTo(10, 6); // 10% bad / 1% allowed
    now += 600_000;
    for (let i = 0; i < 100; i++) t.recordSuccess(1);
    expect(t.burnRate(300_000)).toBe(0); // the bad minute is outside the last 5 min
    expect(t.burnRate(3_600_000)).toBeCloseTo(5, 6);
    expect(t.burnRate(6 * 3_600_000)).toBeCloseTo(5, 6);
  });

  it('times sync and async calls and records failures', async () => {
    const t = new SloTracker('timed', SloConfig.default());
    expect(t.time(() => 42)).toBe(42);
    expect(await t.timeAsync(async () => 'ok')).toBe('ok');
    expect(() =>
      t.time(() => {
        throw new Error('x');
      }),
    ).toThrow('x');
    await expect(
      t.timeAsync(async () => {
        throw new Error('y');
      }),
    ).rejects.toThrow('y');
    expect(t.snapshot()).toMatchObject({ total: 4, errors: 2, violations: 2 });
  });

  it('exports the metrics with a provider label and buckets that include the target', async () => {
    const registry = new Registry();
    const t = new SloTracker('cache_get', SloConfig.cacheRead(), { registry });
    t.recordSuccess(5, 'redis');
    t.recordSuccess(50, 'redis');
    t.recordError('redis');
    const text = await registry.metrics();
    expect(text).toContain(
      'fraiseql_integration_cache_get_latency_seconds_bucket{le="0.01",provider="redis"} 1',
    );
    expect(text).toContain('fraiseql_integration_cache_get_total{provider="redis"} 3');
    expect(text).toContain('fraiseql_integration_cache_get_slo_violations_total{provider="redis"} 2');
    expect(text).toContain('fraiseql_integration_cache_get_errors_total{provider="redis"} 1');
  });

  it('never touches the global registry; same name coexists on two registries and on one', async () => {
    const { register } = await import('prom-client');
    const before = (await register.getMetricsAsJSON()).length;
    const a = new Registry();
    const b = new Registry();
    const t1 = new SloTracker('dup', SloConfig.default(), { registry: a });
    const t2 = new SloTracker('dup', SloConfig.default(), { registry: b });
    const t3 = new SloTracker('dup', SloConfig.default(), { registry: a });
    t1.recordSuccess(1, 'p');
    t2.recordSuccess(1, 'p');
    t3.recordSuccess(1, 'p');
    expect(await a.getSingleMetricAsString('fraiseql_integration_dup_total')).toContain('{provider="p"} 2');
    expect(await b.getSingleMetricAsString('fraiseql_integration_dup_total')).toContain('{provider="p"} 1');
    expect((await register.getMetricsAsJSON()).length).toBe(before);
    new SloRegistry();
    expect((await register.getMetricsAsJSON()).length).toBe(before);
  });

  it('rejects invalid objectives and names with IN002', () => {
    expect(() => new SloTracker('bad name')).toThrow(expect.objectContaining({ code: 'IN002' }));
    expect(
      () => new SloTracker('x', { targetLatencyMs: 0, targetAvailability: 0.9, budgetPeriodDays: 1 }),
    ).toThrow(expect.objectContaining({ code: 'IN002' }));
    expect(
      () => new SloTracker('x', { targetLatencyMs: 10, targetAvailability: 1, budgetPeriodDays: 1 }),
    ).toThrow(expect.objectContaining({ code: 'IN002' }));
  });
});

describe('SloConfig presets', () => {
  // Port of "test_slo_presets".
  it('has the documented targets', () => {
    expect(SloConfig.search().targetLatencyMs).toBe(200);
    expect(SloConfig.cacheRead().targetLatencyMs).toBe(10);
    expect(SloConfig.cacheWrite().targetLatencyMs).toBe(20);
    expect(SloConfig.queueEnqueue().targetLatencyMs).toBe(50);
    expect(SloConfig.queueProcess().targetLatencyMs).toBe(30_000);
    expect(SloConfig.default()).toEqual({
      targetLatencyMs: 100,
      targetAvailability: 0.999,
      budgetPeriodDays: 30,
    });
  });
});

describe('SloRegistry', () => {
  // Port of "test_slo_registry_tracks_multiple_operations".
  it('tracks the pre-registered operations', () => {
    const registry = new SloRegistry();
    const search = registry.get('search_query');
    search?.recordSuccess(100);
    search?.recordSuccess(150);
    const cache = registry.get('cache_get');
    cache?.recordSuccess(5);
    cache?.recordSuccess(8);
    const status = registry.overallStatus();
    expect(status.withinSlo).toBe(true);
    expect(status.averageBudgetRemaining).toBeGreaterThan(0.9);
    expect(Object.keys(status.operations).sort()).toEqual(
      [
        'cache_delete',
        'cache_get',
        'cache_set',
        'queue_enqueue',
        'queue_process',
        'search_index',
        'search_query',
      ].sort(),
    );
  });

  it('reports out of SLO when one operation has no budget left', () => {
    const registry = new SloRegistry();
    registry.get('cache_get')!.recordError();
    const status = registry.overallStatus();
    expect(status.withinSlo).toBe(false);
    expect(status.operations.cache_get).toBe(0);
    const custom = registry.register('custom_op', {
      targetLatencyMs: 5,
      targetAvailability: 0.95,
      budgetPeriodDays: 7,
    });
    expect(registry.get('custom_op')).toBe(custom);
  });
});
