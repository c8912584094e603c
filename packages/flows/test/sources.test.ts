import { createRedisQueue } from '@fraiseql/queue-redis';
import { uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import { type Connector, type ConnectorMessage, createFlowEngine } from '../src/index';
import { redis, until } from './helpers';

describe('sources', () => {
  it.skipIf(!redis.available)(
    'queue source on queue-redis: transform and deliver to another queue',
    async () => {
      const queue = await createRedisQueue({ url: redis.url, prefix: `{${uniqueName('flows')}}` });
      const engine = await createFlowEngine({ providers: { queue } });
      try {
        await engine.createFlow({
          name: 'rq',
          source: { type: 'queue', queue: 'events', concurrency: 2 },
          steps: [
            { type: 'transform', name: 't', mapping: { id: '$.eventId', tags: '$.tags[*]', kind: 'event' } },
            { type: 'deliver', name: 'd', to: { queue: 'out' } },
          ],
        });
        await engine.startFlow('rq');
        for (let i = 0; i < 10; i++) await queue.enqueue('events', { eventId: `e${i}`, tags: ['a', i] });
        await until(() => engine.getFlowStatus('rq').processed === 10, 15_000, '10 processed');
        const out = await queue.listJobs('out', { state: 'pending', limit: 100 });
        expect(
          out
            .map((j) => j.data)
            .sort((a, b) => String((a as { id: string }).id).localeCompare((b as { id: string }).id)),
        ).toEqual(
          Array.from({ length: 10 }, (_, i) => ({ id: `e${i}`, tags: ['a', i], kind: 'event' })).sort(
            (a, b) => a.id.localeCompare(b.id),
          ),
        );
      } finally {
        await engine.close();
        await queue.close();
      }
    },
  );

  it('connector source: subscribe, ack after the flow, unsubscribe on stop', async () => {
    let handler: ((m: ConnectorMessage) => Promise<void>) | undefined;
    let unsubscribed = false;
    const published: unknown[] = [];
    const mqtt: Connector = {
      name: 'mqtt',
      type: 'mqtt',
      test: async () => ({ ok: true, latencyMs: 0 }),
      close: async () => undefined,
      subscribe: async (topic, h) => {
        expect(topic).toBe('sensors/+/temperature');
        handler = h;
        return async () => {
          unsubscribed = true;
        };
      },
      publish: async (_t, body) => void published.push(body),
    };
    const engine = await createFlowEngine({ connectors: [mqtt] });
    await engine.createFlow({
      name: 'temps',
      source: { type: 'connector', connector: 'mqtt', topic: 'sensors/+/temperature' },
      steps: [
        {
          type: 'route',
          name: 'hot',
          routes: [
            { when: 'c > 30', to: { connector: 'mqtt', topic: 'alerts' } },
            { to: { connector: 'mqtt', topic: 'ok' } },
          ],
        },
      ],
    });
    await engine.startFlow('temps');
    await handler?.({ body: { c: 35 } });
    await handler?.({ body: { c: 20 }, id: 'm2' });
    expect(published).toEqual([{ c: 35 }, { c: 20 }]);
    await engine.stopFlow('temps');
    expect(unsubscribed).toBe(true);
    expect(engine.getFlowStatus('temps')).toMatchObject({ state: 'stopped', processed: 2 });
    await engine.close();
  });

  it('observer source: observerAction filters by entity/events and feeds the flow', async () => {
    const rows: unknown[] = [];
    const db: Connector = {
      name: 'db',
      type: 'postgres',
      test: async () => ({ ok: true, latencyMs: 0 }),
      close: async () => undefined,
      insert: async (_t, r) => void rows.push(r),
    };
    let registered: ((e: never, a: never, c: never) => Promise<unknown>) | undefined;
    const engine = await createFlowEngine({
      connectors: [db],
      observers: {
        registerAction: (type, run) => {
          if (type === 'flow') registered = run;
        },
      },
    });
    await engine.createFlow({
      name: 'audit',
      source: { type: 'observer', entity: 'Order', events: ['INSERT'] },
      steps: [
        { type: 'transform', name: 't', mapping: { id: '$.entityId', total: '$.data.total' } },
        { type: 'deliver', name: 'd', to: { connector: 'db', table: 'audit' } },
      ],
    });
    await engine.startFlow('audit');
    const act = engine.observerAction('audit');
    await act({ entity: 'Order', entityId: 'o1', kind: 'INSERT', data: { total: 5 } });
    await act({ entity: 'Order', entityId: 'o2', kind: 'DELETE', data: {} });
    await act({ entity: 'User', entityId: 'u1', kind: 'INSERT', data: {} });
    await registered?.(
      { entity: 'Order', entityId: 'o3', kind: 'INSERT', data: { total: 7 } } as never,
      { type: 'flow', flow: 'audit' } as never,
      {} as never,
    );
    expect(rows).toEqual([
      { id: 'o1', total: 5 },
      { id: 'o3', total: 7 },
    ]);
    await engine.close();
  });
});
