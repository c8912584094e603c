import { IntegrationError } from '@fraiseql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSqlClient,
  MIGRATIONS_TABLE,
  type MigrationStep,
  migrate,
  type SqlClient,
  sqlState,
} from '../src/index.ts';
import { backends, pgService, rejectionOf, uniqueName } from './helpers.ts';

const steps: MigrationStep[] = [
  { id: '001_items', up: 'CREATE TABLE items (id int PRIMARY KEY); CREATE INDEX items_id ON items (id);' },
  {
    id: '002_seed',
    up: async (tx) => {
      await tx.query('INSERT INTO items VALUES ($1), ($2)', [1, 2]);
    },
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(`migrate on ${backend.name}`, () => {
    let sql: SqlClient;
    let cleanup: () => Promise<void>;
    const schemas: string[] = [];
    const newSchema = () => {
      const s = uniqueName('mig');
      schemas.push(s);
      return s;
    };

    beforeAll(async () => {
      ({ sql, cleanup } = await backend.open());
    });

    afterAll(async () => {
      if (!sql) return;
      for (const s of schemas) await sql.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await sql.close();
      await cleanup();
    });

    it('creates the schema, applies steps in order once, and records them', async () => {
      const schema = newSchema();
      expect(await migrate(sql, { schema, namespace: 'test', steps })).toEqual({
        applied: ['001_items', '002_seed'],
      });
      expect(await migrate(sql, { schema, namespace: 'test', steps })).toEqual({ applied: [] });
      // Unqualified names in the steps landed in the schema.
      expect((await sql.query(`SELECT id FROM "${schema}".items ORDER BY id`)).rows).toEqual([
        { id: 1 },
        { id: 2 },
      ]);

      const more = [...steps, { id: '003_more', up: 'INSERT INTO items VALUES (3)' }];
      expect(await migrate(sql, { schema, namespace: 'test', steps: more })).toEqual({
        applied: ['003_more'],
      });
      const recorded = await sql.query<{ id: string }>(
        `SELECT id FROM "${schema}"."${MIGRATIONS_TABLE}" WHERE namespace = $1 ORDER BY id`,
        ['test'],
      );
      expect(recorded.rows.map((r) => r.id)).toEqual(['001_items', '002_seed', '003_more']);
    });

    it('keeps namespaces apart in one schema', async () => {
      const schema = newSchema();
      await migrate(sql, { schema, namespace: 'a', steps: [{ id: '001', up: 'CREATE TABLE a_t (x int)' }] });
      const b = await migrate(sql, {
        schema,
        namespace: 'b',
        steps: [{ id: '001', up: 'CREATE TABLE b_t (x int)' }],
      });
      expect(b.applied).toEqual(['001']);
      expect(
        (await sql.query(`SELECT to_regclass($1)::text AS t`, [`"${schema}".b_t`])).rows[0]!.t,
      ).not.toBeNull();
    });

    it('rolls back every step of a call when one fails and records none', async () => {
      const schema = newSchema();
      const failing: MigrationStep[] = [
        { id: '001_ok', up: 'CREATE TABLE fine (x int)' },
        { id: '002_bad', up: 'CREATE TABLE broken (x nosuchtype)' },
      ];
      const err = await rejectionOf(migrate(sql, { schema, namespace: 'test', steps: failing }));
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.code).toBe('IN405');
      expect(err.message).toContain('test/002_bad');
      expect(sqlState(err)).toBe('42704');
      const exists = await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(exists.rowCount).toBe(0);
      // Fixed step: both apply now.
      failing[1] = { id: '002_bad', up: 'CREATE TABLE broken (x int)' };
      expect((await migrate(sql, { schema, namespace: 'test', steps: failing })).applied).toEqual([
        '001_ok',
        '002_bad',
      ]);
    });

    it('refuses invalid options with IN002', async () => {
      const schema = newSchema();
      await expect(migrate(sql, { schema: 'bad"; drop', namespace: 'n', steps })).rejects.toMatchObject({
        code: 'IN002',
      });
      await expect(migrate(sql, { schema, namespace: '', steps })).rejects.toMatchObject({ code: 'IN002' });
      await expect(
        migrate(sql, { schema, namespace: 'n', steps: [steps[0]!, { id: '001_items', up: 'SELECT 1' }] }),
      ).rejects.toMatchObject({ code: 'IN002' });
    });
  });
}

describe.skipIf(!pgService.available)('migrate from concurrent processes on a real server', () => {
  const clients: SqlClient[] = [];
  const schema = uniqueName('migc');

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) clients.push(await createSqlClient({ url: pgService.url }));
  });

  afterAll(async () => {
    await clients[0]?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('applies each step exactly once when four clients start at the same time', async () => {
    const slow: MigrationStep[] = [
      { id: '001', up: 'SELECT pg_sleep(0.2); CREATE TABLE jobs (id int PRIMARY KEY)' },
      { id: '002', up: 'INSERT INTO jobs VALUES (1)' },
    ];
    const queueSteps: MigrationStep[] = [{ id: '001', up: 'CREATE TABLE other (id int)' }];
    const results = await Promise.all([
      ...clients.map((sql) => migrate(sql, { schema, namespace: 'queue', steps: slow })),
      // A second namespace racing for the same (new) schema.
      migrate(clients[0]!, { schema, namespace: 'cache', steps: queueSteps }),
    ]);
    const queueRuns = results.slice(0, 4).map((r) => r.applied);
    expect(queueRuns.filter((a) => a.length > 0)).toEqual([['001', '002']]);
    expect(results[4]!.applied).toEqual(['001']);
    expect((await clients[1]!.query(`SELECT id FROM "${schema}".jobs`)).rows).toEqual([{ id: 1 }]);
    const recorded = await clients[2]!.query(
      `SELECT namespace, id FROM "${schema}"."${MIGRATIONS_TABLE}" ORDER BY 1, 2`,
    );
    expect(recorded.rows).toEqual([
      { namespace: 'cache', id: '001' },
      { namespace: 'queue', id: '001' },
      { namespace: 'queue', id: '002' },
    ]);
  });
});
