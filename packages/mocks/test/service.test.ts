import { IntegrationService } from '@fraiseql/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MockCacheProvider, MockQueueProvider, MockSearchProvider } from '../src/index.ts';

// Ports of section 6.6 "Integration Service Tests" of the original design.
describe('IntegrationService with the mocks', () => {
  it('routes search, cache and queue calls to the providers', async () => {
    const search = new MockSearchProvider();
    const cache = new MockCacheProvider();
    const queue = new MockQueueProvider();
    const service = new IntegrationService({ search, cache, queue });

    await service.search('products', 'test query');
    search.assertSearched('products', 'test query');

    await service.cacheSet('key', new TextEncoder().encode('value'));
    expect(await service.cacheGet('key')).toEqual(new TextEncoder().encode('value'));

    await service.enqueue('tasks', { task: 'test' });
    queue.assertEnqueued('tasks');
    expect(await service.cacheDelete('key')).toBe(true);
    await service.close();
  });

  it('reports every provider healthy', async () => {
    const service = new IntegrationService({
      search: new MockSearchProvider(),
      cache: new MockCacheProvider(),
      queue: new MockQueueProvider(),
    });
    const health = await service.healthCheck();
    expect(health).toEqual({ 'search:mock': true, 'cache:mock': true, 'queue:mock': true });
    await service.close();
  });

  it('reports a failing provider as false without affecting the others', async () => {
    const cache = new MockCacheProvider();
    cache.shouldFail = true;
    const service = new IntegrationService({
      search: new MockSearchProvider(),
      cache,
      queue: new MockQueueProvider(),
    });
    const health = await service.healthCheck();
    expect(health['cache:mock']).toBe(false);
    expect(health['search:mock']).toBe(true);
    expect(health['queue:mock']).toBe(true);
    await service.close();
  });

  it('treats a health check that hangs or throws as down, within the timeout', async () => {
    const cache = new MockCacheProvider();
    cache.healthCheck = () => new Promise(() => {});
    const search = new MockSearchProvider();
    search.healthCheck = async () => {
      throw new Error('boom');
    };
    const service = new IntegrationService({ cache, search, healthCheckTimeoutMs: 50 });
    expect(await service.healthCheck()).toEqual({ 'cache:mock': false, 'search:mock': false });
  });

  it('times each call with the matching SLO tracker, errors included', async () => {
    const registry = new Registry();
    const cache = new MockCacheProvider();
    const service = new IntegrationService({ cache, registry });
    await service.cacheSet('a', 'x');
    await service.cacheGet('a');
    cache.failWith('down');
    await expect(service.cacheGet('a')).rejects.toMatchObject({ code: 'IN201' });
    expect(service.slo.get('cache_get')!.snapshot()).toMatchObject({ total: 2, errors: 1 });
    expect(service.slo.get('cache_set')!.snapshot()).toMatchObject({ total: 1, errors: 0 });
    const text = await registry.metrics();
    expect(text).toContain('fraiseql_integration_cache_get_total{provider="mock"} 2');
    expect(text).toContain('fraiseql_integration_cache_get_errors_total{provider="mock"} 1');
  });

  it('refuses calls for a provider that is not configured with IN004', async () => {
    const service = new IntegrationService({});
    expect(() => service.cacheGet('k')).toThrow(expect.objectContaining({ code: 'IN004' }));
    expect(await service.healthCheck()).toEqual({});
  });
});
