import { afterEach, describe, expect, it } from 'vitest';
import { type Connector, createFlowEngine, type FlowDefinition, type FlowManager } from '../src/index';
import { pg, pgQueue, rejects } from './helpers';

const noop: Connector = {
  name: 'api',
  type: 'http',
  test: async () => ({ ok: true, latencyMs: 0 }),
  close: async () => undefined,
};

describe('definitions', () => {
  let engine: FlowManager | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('lists every problem of a bad definition in one IN002', async () => {
    engine = await createFlowEngine({ connectors: [noop] });
    const def = {
      name: 'bad',
      source: { type: 'http' },
      steps: [
        { type: 'teleport', name: 'a' },
        { type: 'transform', name: 'b', mapping: { id: '$.x[', ok: '$.y', deep: ['$..[?(@.x'] } },
        { type: 'validate', name: 'c', schema: { type: 'not-a-type' } },
        { type: 'deliver', name: 'd', to: { connector: 'missing' } },
        { type: 'route', name: 'd', routes: [{ when: 'total >>= 3', to: { connector: 'api' } }] },
        { type: 'enrich', name: 'e', connector: 'api', request: { path: '/x' }, into: '__proto__.polluted' },
      ],
      errorHandling: { retry: { maxAttempts: 0 } },
    } as unknown as FlowDefinition;
    const msg = await rejects(engine.createFlow(def), 'IN002');
    for (const part of [
      /unknown step type "teleport"/,
      /steps\[1\] \(b\)\.mapping\.id: bad JSONPath "\$\.x\["/,
      /mapping\.deep\[0\]: bad JSONPath/,
      /steps\[2\] \(c\)\.schema: invalid JSON Schema/,
      /steps\[3\] \(d\)\.to: unknown connector "missing"/,
      /duplicate step name "d"/,
      /routes\[0\]\.when/,
      /connector "api" cannot deliver/,
      /connector "api" has no request\(\)/,
      /into must be a dotted path/,
      /maxAttempts must be a positive integer/,
    ])
      expect(msg).toMatch(part);
    expect(msg).toMatch(/11 problem\(s\)/);
    expect(engine.listFlows()).toEqual([]);
  });

  it('a queue without provider, an unknown source type and duplicate flows are refused', async () => {
    engine = await createFlowEngine();
    await rejects(
      engine.createFlow({
        name: 'q',
        source: { type: 'queue', queue: 'in' },
        steps: [{ type: 'deliver', name: 'd', to: { queue: 'out' } }],
      }),
      'IN002',
      /queue source needs a queue provider.*needs a queue provider/,
    );
    await rejects(
      engine.createFlow({ name: 's', source: { type: 'ftp' }, steps: [] } as unknown as FlowDefinition),
      'IN002',
      /source\.type must be.*steps must be a non-empty array/,
    );
    const ok: FlowDefinition = {
      name: 'ok',
      source: { type: 'http' },
      steps: [{ type: 'transform', name: 't', mapping: { a: '$.a' } }],
    };
    await engine.createFlow(ok);
    await rejects(engine.createFlow(ok), 'IN002', /already exists/);
    expect(engine.getFlowStatus('ok')).toMatchObject({
      name: 'ok',
      state: 'created',
      processed: 0,
      inFlight: 0,
    });
    await engine.startFlow('ok');
    await engine.stopFlow('ok');
    expect(engine.getFlowStatus('ok').state).toBe('stopped');
    expect(await engine.deleteFlow('ok')).toBe(true);
    expect(engine.listFlows()).toEqual([]);
  });

  it.skipIf(!pg.available)('a queue source that is also a destination of the flow is a cycle', async () => {
    const q = await pgQueue();
    try {
      const e = await createFlowEngine({ providers: { queue: q.queue } });
      await rejects(
        e.createFlow({
          name: 'loop',
          source: { type: 'queue', queue: 'orders' },
          steps: [{ type: 'route', name: 'r', routes: [{ to: { queue: 'orders' } }] }],
        }),
        'IN002',
        /cycle: queue "orders" is both the source and a destination/,
      );
      await e.close();
    } finally {
      await q.close();
    }
  });
});

describe('hostile payloads', () => {
  it('deep nesting, 10 MB bodies and __proto__/constructor keys never crash or pollute', async () => {
    const seen: unknown[] = [];
    const sink: Connector = { ...noop, name: 'sink', insert: async (_t, row) => void seen.push(row) };
    const engine = await createFlowEngine({ connectors: [sink] });
    await engine.createFlow({
      name: 'h',
      source: { type: 'http' },
      steps: [
        {
          type: 'transform',
          name: 't',
          mapping: {
            all: '$',
            first: '$.items[0]',
            items: '$.items[*]',
            p: '$.__proto__',
            c: '$.constructor',
          },
        },
        {
          type: 'route',
          name: 'r',
          routes: [
            { when: 'all.isAdmin == true', to: { connector: 'sink', table: 'admins' } },
            { to: { connector: 'sink', table: 't' } },
          ],
        },
      ],
      monitoring: { logging: { includePayload: true } },
    });
    await engine.startFlow('h');
    const evil = JSON.parse(
      '{"__proto__": {"isAdmin": true, "polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "items": [{"__proto__": {"polluted": 3}}]}',
    );
    await engine.post('h', evil);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const out = seen[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out.all as object, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(out))).toMatchObject({
      p: { isAdmin: true },
      c: { prototype: { polluted: 2 } },
    });

    // Deep nesting: refused by post (IN308), never a stack overflow.
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    await rejects(engine.post('h', deep), 'IN308', /nested deeper/);
    let deepArr: unknown = [];
    for (let i = 0; i < 10_000; i++) deepArr = [deepArr];
    await rejects(engine.post('h', { x: deepArr }), 'IN308');

    // 10 MB body passes through.
    const big = { blob: 'x'.repeat(10 * 1024 * 1024), items: [1] };
    await engine.post('h', big);
    expect((seen[1] as { all: { blob: string } }).all.blob.length).toBe(10 * 1024 * 1024);

    // Non-object bodies and garbage.
    await engine.post('h', 'just a string');
    await engine.post('h', null);
    expect(engine.getFlowStatus('h').processed).toBe(4);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await engine.close();
  });
});
