import { createHmac } from 'node:crypto';
import { createRedisCache } from '@fraiseql/cache-redis';
import { isIntegrationError } from '@fraiseql/core';
import { createPostgresQueue } from '@fraiseql/queue-postgres';
import { createPostgresSearch } from '@fraiseql/search-postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ObserverDefinition } from '../src/types';
import { type Db, event, metricValue, openDb, pg, type Receiver, runtimeOn, startReceiver } from './helpers';

const redis = await checkService('redis');

describe.skipIf(!pg.available || !redis.available)('observer actions against real providers', () => {
  let db: Db;
  let receiver: Receiver;
  beforeAll(async () => {
    db = await openDb('postgres');
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await db?.close();
  });
  beforeEach(async () => {
    receiver.requests.length = 0;
    receiver.respond = () => 200;
    await db.useFreshLog();
  });

  const fast = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 };

  describe('webhook', () => {
    it('posts the event with the documented body, headers and HMAC signature', async () => {
      const obs: ObserverDefinition = {
        name: 'hook',
        entity: 'Order',
        actions: [
          {
            type: 'webhook',
            url: `${receiver.url}/orders/{entity_id}?k={data.status}`,
            secret: 's3cret',
            headers: { 'X-Entity': '{entity}' },
          },
        ],
      };
      const runtime = await runtimeOn(db, { observers: [obs] });
      const createdAt = new Date('2026-01-22T12:00:00Z');
      const summary = await runtime.processEvent(
        event({ id: '42', entityId: 'a b/c', data: { status: 'new & paid' }, createdAt }),
      );
      expect(summary).toMatchObject({ actionsRun: 1, actionsFailed: 0, observers: ['hook'] });
      const [req] = receiver.requests;
      expect(req?.method).toBe('POST');
      expect(req?.url).toBe('/orders/a%20b%2Fc?k=new%20%26%20paid');
      expect(req?.headers['content-type']).toBe('application/json');
      expect(req?.headers['x-fraiseql-event-id']).toBe('42');
      expect(req?.headers['x-entity']).toBe('Order');
      const expected = `sha256=${createHmac('sha256', 's3cret')
        .update(req?.body ?? '')
        .digest('hex')}`;
      expect(req?.headers['x-fraiseql-signature']).toBe(expected);
      expect(JSON.parse(req?.body ?? '')).toEqual({
        event: {
          id: '42',
          source: 'default',
          entity: 'Order',
          entity_id: 'a b/c',
          kind: 'INSERT',
          data: { status: 'new & paid' },
          created_at: '2026-01-22T12:00:00.000Z',
        },
        observer: 'hook',
      });
    });

    it('a 4xx goes to the DLQ at once; 408/429 and 5xx are retried', async () => {
      const runtime = await runtimeOn(db, {
        group: uniqueName('g'),
        observers: [
          {
            name: 'hook',
            entity: 'Order',
            retry: fast,
            actions: [{ type: 'webhook', url: `${receiver.url}/x` }],
          },
        ],
      });
      receiver.respond = () => 404;
      expect(await runtime.processEvent(event({ id: '1' }))).toMatchObject({ actionsFailed: 1 });
      expect(receiver.requests).toHaveLength(1);
      receiver.requests.length = 0;
      receiver.respond = ({ n }) => (n === 1 ? 429 : n === 2 ? 503 : 200);
      expect(await runtime.processEvent(event({ id: '2' }))).toMatchObject({ actionsFailed: 0 });
      expect(receiver.requests).toHaveLength(3);
      receiver.requests.length = 0;
      receiver.respond = () => 500;
      expect(await runtime.processEvent(event({ id: '3' }))).toMatchObject({ actionsFailed: 1 });
      expect(receiver.requests).toHaveLength(3);
      const dlq = await runtime.dlq.list();
      expect(dlq.map((d) => [d.eventId, d.attempts])).toEqual([
        ['1', 1],
        ['3', 3],
      ]);
      expect(dlq[0]?.error).toContain('answered 404');
      const records = await runtime.executions('2');
      expect(records).toMatchObject([
        { observer: 'hook', actionType: 'webhook', status: 'succeeded', attempts: 3 },
      ]);
    });

    it('a receiver that does not answer times out and is retried', async () => {
      receiver.respond = ({ n }) => (n === 1 ? 'hang' : 200);
      const runtime = await runtimeOn(db, {
        group: uniqueName('g'),
        observers: [
          {
            name: 'hook',
            entity: 'Order',
            retry: fast,
            actions: [{ type: 'webhook', url: `${receiver.url}/slow`, timeoutMs: 200 }],
          },
        ],
      });
      expect(await runtime.processEvent(event({ id: '7' }))).toMatchObject({ actionsFailed: 0 });
      expect(receiver.requests).toHaveLength(2);
    });

    it('a failing target opens its breaker; later calls fail at once without reaching it', async () => {
      receiver.respond = () => 500;
      const runtime = await runtimeOn(db, {
        group: uniqueName('g'),
        breaker: { minimumRequests: 4, windowMs: 10_000, halfOpenAfterMs: 60_000 },
        observers: [
          {
            name: 'hook',
            entity: 'Order',
            retry: { maxAttempts: 1 },
            actions: [{ type: 'webhook', url: `${receiver.url}/down` }],
          },
        ],
      });
      for (let i = 1; i <= 6; i++) await runtime.processEvent(event({ id: String(i) }));
      const reached = receiver.requests.length;
      expect((await runtime.status()).breakers).toMatchObject({
        [`webhook:${new URL(receiver.url).host}`]: 'open',
      });
      const durations: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await runtime.processEvent(event({ id: String(99 + i) }));
        expect(s.actionsFailed).toBe(1);
        const [record] = await runtime.executions(String(99 + i));
        durations.push(record?.durationMs ?? Number.NaN);
      }
      expect(receiver.requests.length).toBe(reached);
      const [entry] = (await runtime.dlq.list({ limit: 1000 })).filter((d) => d.eventId === '99');
      expect(entry?.error).toMatch(/circuit breaker .* is open/);
      // The attempt against an open breaker (the record's duration, DLQ insert excluded) is under 1 ms.
      expect(durations.sort((a, b) => a - b)[2]).toBeLessThan(1);
    });
  });

  it('enqueue, search.index, search.delete, cache.invalidate and audit run against real providers', async () => {
    const schema = uniqueName('prov');
    const queue = await createPostgresQueue({ sql: db.sql, schema: `${schema}_q` });
    const search = await createPostgresSearch({ sql: db.sql, schema: `${schema}_s` });
    await search.configureIndex('orders', { searchable: ['status'], filterable: ['status'] });
    await search.configureIndex('audit', { searchable: ['entity_type'], filterable: ['status', 'event_id'] });
    const cache = await createRedisCache({ url: redis.url, prefix: `${schema}:` });
    try {
      await cache.set('order:o-1', 'x');
      await cache.set('list:Order:1', 'x');
      await cache.set('list:Order:2', 'x');
      const runtime = await runtimeOn(db, {
        group: uniqueName('g'),
        providers: { queue, search, cache },
        observers: [
          {
            name: 'sync',
            entity: 'Order',
            events: ['INSERT', 'UPDATE'],
            actions: [
              { type: 'enqueue', queue: 'emails', priority: 5 },
              { type: 'search.index', index: 'orders' },
              { type: 'cache.invalidate', keys: ['order:{entity_id}'], pattern: 'list:{entity}:*' },
              { type: 'audit', index: 'audit' },
            ],
          },
          {
            name: 'gone',
            entity: 'Order',
            events: ['DELETE'],
            actions: [{ type: 'search.delete', index: 'orders' }],
          },
        ],
      });
      const s = await runtime.processEvent(event({ id: '10', data: { status: 'new', total: 3 } }));
      expect(s).toMatchObject({ actionsRun: 4, actionsFailed: 0 });
      const [job] = await queue.listJobs('emails', { state: 'pending' });
      expect(job).toMatchObject({
        priority: 5,
        data: {
          id: '10',
          entity: 'Order',
          entity_id: 'o-1',
          kind: 'INSERT',
          data: { status: 'new', total: 3 },
        },
      });
      const found = await search.search({ index: 'orders', query: 'new' });
      expect(found.hits.map((h) => [h.id, h.document])).toEqual([
        ['o-1', expect.objectContaining({ status: 'new', total: 3 })],
      ]);
      expect(await cache.exists('order:o-1')).toBe(false);
      expect(await cache.exists('list:Order:1')).toBe(false);
      const audit = await search.search({ index: 'audit', query: '', limit: 10 });
      expect(
        audit.hits.map((h) => h.document).map((d) => [d.action_type, d.status, d.event_id, d.observer_id]),
      ).toEqual(
        expect.arrayContaining([
          ['enqueue', 'succeeded', '10', 'sync'],
          ['search.index', 'succeeded', '10', 'sync'],
          ['cache.invalidate', 'succeeded', '10', 'sync'],
        ]),
      );
      await runtime.start();
      await new Promise((r) => setTimeout(r, 400));
      const depth = (await runtime.registry.getSingleMetric('observer_job_queue_depth')?.get())?.values ?? [];
      expect(depth).toEqual([expect.objectContaining({ labels: { queue: 'emails' }, value: 1 })]);
      await runtime.stop();
      await runtime.processEvent(event({ id: '11', kind: 'DELETE' }));
      expect((await search.search({ index: 'orders', query: '' })).totalHits).toBe(0);
    } finally {
      await cache.deletePattern('*');
      await cache.close();
      await queue.close();
      await search.close();
      await db.sql.exec(
        `DROP SCHEMA IF EXISTS "${schema}_q" CASCADE; DROP SCHEMA IF EXISTS "${schema}_s" CASCADE`,
      );
    }
  });

  it('DLQ: list, show, retry (only that action), retry-all --dry-run, delete', async () => {
    let fail = true;
    const calls: string[] = [];
    const runtime = await runtimeOn(db, {
      group: uniqueName('g'),
      observers: [
        {
          name: 'a',
          entity: 'Order',
          retry: { maxAttempts: 2, initialDelayMs: 5 },
          actions: [{ type: 'flaky' }, { type: 'ok' }],
        },
        { name: 'b', entity: 'Order', retry: { maxAttempts: 1 }, actions: [{ type: 'flaky' }] },
      ],
    });
    runtime.registerAction('flaky', async (e, _a, ctx) => {
      calls.push(`flaky:${ctx.observer}:${e.id}`);
      if (fail) throw new Error('target down');
    });
    runtime.registerAction('ok', async (e) => {
      calls.push(`ok:${e.id}`);
    });
    await runtime.processEvent(event({ id: '1' }));
    await runtime.processEvent(event({ id: '2' }));
    const all = (await runtime.dlq.list()).sort(
      (x, y) => x.eventId.localeCompare(y.eventId) || x.observer.localeCompare(y.observer),
    );
    expect(all.map((d) => [d.eventId, d.observer, d.action.type, d.attempts])).toEqual([
      ['1', 'a', 'flaky', 2],
      ['1', 'b', 'flaky', 1],
      ['2', 'a', 'flaky', 2],
      ['2', 'b', 'flaky', 1],
    ]);
    expect((await runtime.dlq.list({ observer: 'b' })).map((d) => d.eventId)).toEqual(['1', '2']);
    expect(await runtime.dlq.list({ limit: 1, offset: 1 })).toHaveLength(1);
    const first = all[0]!;
    expect(await runtime.dlq.get(first.id)).toMatchObject({
      id: first.id,
      error: 'target down',
      event: { id: '1', entity: 'Order' },
    });
    await expect(runtime.dlq.get('999999')).rejects.toMatchObject({ code: 'IN300' });
    await expect(runtime.dlq.get('1; DROP TABLE x')).rejects.toMatchObject({ code: 'IN300' });
    expect(await runtime.dlq.retry(first.id)).toMatchObject({ actionsFailed: 1 });
    expect((await runtime.dlq.get(first.id)).attempts).toBe(3);
    expect(await runtime.dlq.retryAll({ observer: 'b', dryRun: true })).toEqual({
      count: 2,
      ids: [all[1]!.id, all[3]!.id].sort((x, y) => Number(x) - Number(y)),
    });
    expect(await runtime.status()).toMatchObject({ dlqSize: 4 });
    fail = false;
    calls.length = 0;
    expect(await runtime.dlq.retry(first.id)).toMatchObject({ actionsRun: 1, actionsFailed: 0 });
    expect(calls).toEqual(['flaky:a:1']);
    expect(await runtime.dlq.retryAll({ observer: 'b' })).toEqual({
      count: 2,
      ids: [all[1]!.id, all[3]!.id].sort((x, y) => Number(x) - Number(y)),
    });
    expect(await runtime.dlq.delete(all[2]!.id)).toBe(true);
    expect(await runtime.dlq.delete(all[2]!.id)).toBe(false);
    expect(await runtime.dlq.list()).toEqual([]);
    await expect(runtime.dlq.list({ limit: 0 })).rejects.toSatisfy(isIntegrationError);
  });

  it('dedup and the action cache on Redis; a store that fails lets the event run (fail open)', async () => {
    const prefix = `${uniqueName('dd')}:`;
    const store = await createRedisCache({ url: redis.url, prefix });
    const runs: string[] = [];
    const runtime = await runtimeOn(db, {
      group: uniqueName('g'),
      observers: [{ name: 'o', entity: 'Order', actions: [{ type: 'rec' }] }],
      dedup: { store, windowMs: 60_000 },
      actionCache: { store, ttlMs: 60_000 },
    });
    runtime.registerAction('rec', async (e) => {
      runs.push(e.id);
    });
    expect(await runtime.processEvent(event({ id: '1' }))).toMatchObject({
      duplicateSkipped: false,
      actionsRun: 1,
      cacheMisses: 1,
    });
    expect(await runtime.processEvent(event({ id: '2' }))).toMatchObject({
      duplicateSkipped: true,
      actionsRun: 0,
    });
    // A redelivered event (same id) with other content: dedup misses, the action cache answers.
    expect(await runtime.processEvent(event({ id: '1', data: { status: 'changed' } }))).toMatchObject({
      cacheHits: 1,
      actionsRun: 0,
    });
    expect(runs).toEqual(['1']);
    await store.deletePattern('*');
    await store.close();
    // The store is closed: every call fails, and the event still runs.
    expect(await runtime.processEvent(event({ id: '3', entityId: 'other' }))).toMatchObject({
      duplicateSkipped: false,
      actionsRun: 1,
    });
    expect(runs).toEqual(['1', '3']);
    expect(await metricValue(runtime.registry, 'observer_dedup_errors_total')).toBeGreaterThan(0);
    expect(await metricValue(runtime.registry, 'observer_dedup_skips_total')).toBe(1);
  });
});
