import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { expectIntegrationError } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileObservers,
  createObserverRuntime,
  installChangeCapture,
  removeChangeCapture,
  renderTemplate,
} from '../src/index';
import type { ObserverDefinition } from '../src/types';
import { event } from './helpers';

describe('observer definitions and bad input', () => {
  let sql: SqlClient;
  beforeAll(async () => {
    sql = await createSqlClient({});
  });
  afterAll(async () => {
    await sql?.close();
  });

  it('lists every problem of the definitions in one IN002', async () => {
    const err = await expectIntegrationError(
      () =>
        createObserverRuntime({
          sql,
          observers: [
            { name: 'bad name!', entity: 'Order', actions: [{ type: 'webhook', url: 'ftp://x' }] },
            { name: 'ok', entity: '', events: ['TRUNCATE' as never], condition: 'total >', actions: [] },
            {
              name: 'ok',
              entity: 'X',
              condition: { field: 'a', op: 'like' as never, value: 1 },
              actions: [{ type: 'enqueue', queue: 'q' }],
            },
            {
              name: 'tpl',
              entity: 'X',
              actions: [
                { type: 'cache.invalidate', keys: ['user:{nope}'] },
                { type: 'search.index', index: 'bad index' },
              ],
            },
          ],
        }),
      'IN002',
    );
    for (const part of [
      'observers[0].name',
      'url must be an http(s) URL',
      'entity must be a non-empty string',
      'unknown kind "TRUNCATE"',
      'Invalid condition "total >"',
      'actions must be a non-empty array',
      'duplicate name',
      'condition:',
      'needs a queue provider',
      'unknown placeholder(s) {nope}',
      'needs a cache provider',
      '.index must be 1-64 characters',
    ])
      expect(err.message).toContain(part);
  });

  it('refuses an unknown action type at start, after registerAction had its chance', async () => {
    const observers: ObserverDefinition[] = [
      { name: 'o', entity: 'X', actions: [{ type: 'email' }, { type: 'sms' }] },
    ];
    const runtime = await createObserverRuntime({ sql, observers });
    runtime.registerAction('email', async () => undefined);
    const err = await expectIntegrationError(() => runtime.start(), 'IN002');
    expect(err.message).toContain('unknown action type "sms"');
    expect(err.message).not.toContain('"email"');
  });

  it('refuses bad options and bad events with IN002', async () => {
    await expectIntegrationError(() => createObserverRuntime(null as never), 'IN002');
    await expectIntegrationError(() => createObserverRuntime({ sql, observers: [], batchSize: 0 }), 'IN002');
    await expectIntegrationError(
      () => createObserverRuntime({ sql, observers: [], schema: 'x"; DROP' }),
      'IN002',
    );
    await expectIntegrationError(
      () => createObserverRuntime({ sql, observers: [], role: 'worker' }),
      'IN002',
    );
    await expectIntegrationError(
      () => createObserverRuntime({ sql, observers: [], dedup: { store: {} as never } }),
      'IN002',
    );
    const runtime = await createObserverRuntime({ sql, observers: [] });
    await expectIntegrationError(() => runtime.processEvent({ ...event(), id: 'abc' }), 'IN002');
    await expectIntegrationError(
      () => runtime.processEvent({ ...event(), kind: 'TRUNCATE' as never }),
      'IN002',
    );
    expect(() => runtime.registerAction('bad type!', async () => undefined)).toThrow(/type must be/);
  });

  it('validates and quotes every identifier of change capture', async () => {
    await sql.exec('CREATE TABLE "Weird_Case" (id text PRIMARY KEY)');
    await installChangeCapture(sql, { table: 'Weird_Case', entity: 'W' });
    await sql.query(`INSERT INTO "Weird_Case" VALUES ('1')`);
    const { rows } = await sql.query(
      'SELECT object_type, object_id, modification_type FROM tb_entity_change_log',
    );
    expect(rows).toEqual([{ object_type: 'W', object_id: '1', modification_type: 'INSERT' }]);
    await removeChangeCapture(sql, { table: 'Weird_Case' });
    await sql.query(`INSERT INTO "Weird_Case" VALUES ('2')`);
    expect((await sql.query('SELECT count(*)::int AS n FROM tb_entity_change_log')).rows[0]?.n).toBe(1);
    for (const table of ['users; DROP TABLE x', 'a.b.c', '"quoted"', ''])
      await expectIntegrationError(() => installChangeCapture(sql, { table, entity: 'E' }), 'IN002');
    await expectIntegrationError(
      () => installChangeCapture(sql, { table: 'Weird_Case', entity: 'E', idColumn: 'id; --' }),
      'IN002',
    );
    await expectIntegrationError(
      () => installChangeCapture(sql, { table: 'Weird_Case', entity: '' }),
      'IN002',
    );
    await expectIntegrationError(
      () => installChangeCapture(sql, { table: 'Weird_Case', entity: 'E', changeLog: 'log;x' }),
      'IN002',
    );
  });

  it('compiles the expression and Filter forms to the same matcher', () => {
    const [a, b] = compileObservers([
      { name: 'a', entity: 'X', condition: "total >= 1000 and status == 'new'", actions: [{ type: 'x' }] },
      {
        name: 'b',
        entity: 'X',
        condition: {
          and: [
            { field: 'total', op: 'gte', value: 1000 },
            { field: 'status', op: 'eq', value: 'new' },
          ],
        },
        actions: [{ type: 'x' }],
      },
    ]);
    expect(a?.filter).toEqual(b?.filter);
  });

  it('fills templates, URL-encoding only for URLs', () => {
    const e = event({ id: '7', entityId: 'a/b', data: { user: { email: 'x@y.z' } } });
    expect(renderTemplate('user:{entity_id}:{data.user.email}:{data.missing}', e)).toBe('user:a/b:x@y.z:');
    expect(renderTemplate('/u/{entity_id}?e={data.user.email}&k={kind}&i={id}', e, 'url')).toBe(
      '/u/a%2Fb?e=x%40y.z&k=INSERT&i=7',
    );
  });
});
