import { ErrorCode, isIntegrationError } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, expectIntegrationError, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector, type PostgresConnector, sslConfig } from '../src/index';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('connector-postgres', () => {
  const schema = uniqueName('conn');
  let admin: SqlClient;
  let c: PostgresConnector;

  beforeAll(async () => {
    admin = await createSqlClient({ url: pg.url });
    await admin.exec(`
      CREATE SCHEMA "${schema}";
      CREATE TABLE "${schema}".orders (id int PRIMARY KEY, customer text, note text, data jsonb, tags text, created timestamptz DEFAULT now());
      CREATE TABLE "${schema}".customers (id text PRIMARY KEY, name text, tier text);
      INSERT INTO "${schema}".customers VALUES ('c1', 'Ann', 'gold'), ('c2', 'Bob', NULL), ('x'' OR ''1''=''1', 'Eve', 'none');
    `);
    c = await createPostgresConnector({
      name: 'db',
      url: pg.url,
      pool: { min: 0, max: 3, idleTimeoutMs: 5000 },
      ssl: { mode: 'disable' },
    });
  });
  afterAll(async () => {
    await c?.close();
    await admin?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.close();
  });

  it('inserts a row into a schema-qualified table; objects land in jsonb', async () => {
    await c.insert(`${schema}.orders`, {
      id: 1,
      customer: 'c1',
      data: { total: 12.5, items: [{ sku: 'a' }] },
      tags: undefined,
    });
    const { rows } = await admin.query(
      `SELECT id, customer, data, tags FROM "${schema}".orders WHERE id = 1`,
    );
    expect(rows).toEqual([
      { id: 1, customer: 'c1', data: { total: 12.5, items: [{ sku: 'a' }] }, tags: null },
    ]);
    const { rows: t } = await admin.query(
      `SELECT jsonb_typeof(data) AS t FROM "${schema}".orders WHERE id = 1`,
    );
    expect(t[0]!.t).toBe('object');
  });

  it('stores SQL-looking strings as data', async () => {
    const evil = `'); DROP TABLE "${schema}".orders; --`;
    await c.insert(`${schema}.orders`, { id: 2, customer: 'c2', note: evil });
    const { rows } = await admin.query(`SELECT note FROM "${schema}".orders WHERE id = 2`);
    expect(rows[0]!.note).toBe(evil);
    expect((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0]!.n).toBe(2);
  });

  it('deliver inserts message.body into destination.table', async () => {
    await c.deliver(
      { id: 'm', body: { id: 3, customer: 'c1', data: [1, 2] } },
      { table: `${schema}.orders` },
    );
    const { rows } = await admin.query(`SELECT data FROM "${schema}".orders WHERE id = 3`);
    expect(rows[0]!.data).toEqual([1, 2]);
    await expectIntegrationError(() => c.deliver({ body: { id: 4 } }, {}), ErrorCode.InvalidConfiguration);
  });

  it('refuses bad identifiers with IN002 before sending SQL', async () => {
    for (const t of ['x; DROP TABLE y', '"quoted"', `${schema}.orders; DROP`, 'a.b.c', '']) {
      await expectIntegrationError(() => c.insert(t, { id: 9 }), ErrorCode.InvalidConfiguration, { what: t });
      await expectIntegrationError(() => c.select({ table: t, where: {} }), ErrorCode.InvalidConfiguration, {
        what: t,
      });
    }
    await expectIntegrationError(
      () => c.insert(`${schema}.orders`, { 'id; DROP TABLE y': 9 }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => c.insert(`${schema}.orders`, { '"id"': 9 }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => c.select({ table: `${schema}.customers`, where: { 'id = id OR 1=1 --': 'x' } }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => c.select({ table: `${schema}.customers`, columns: ['name, (SELECT 1)'] }),
      ErrorCode.InvalidConfiguration,
    );
    expect((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0]!.n).toBe(3);
  });

  it('select enriches with bound parameters (injection attempts are values)', async () => {
    expect(
      await c.select({ table: `${schema}.customers`, where: { id: 'c1' }, columns: ['name', 'tier'] }),
    ).toEqual([{ name: 'Ann', tier: 'gold' }]);
    expect(
      await c.select({ table: `${schema}.customers`, where: { id: "x' OR '1'='1" }, columns: ['name'] }),
    ).toEqual([{ name: 'Eve' }]);
    expect(await c.select({ table: `${schema}.customers`, where: { tier: null }, columns: ['id'] })).toEqual([
      { id: 'c2' },
    ]);
    expect(await c.select({ table: `${schema}.customers`, where: { id: 'nope' } })).toEqual([]);
    expect((await c.select({ table: `${schema}.customers`, limit: 2 })).length).toBe(2);
    expect(await c.query(`SELECT name FROM "${schema}".customers WHERE id = $1`, ['c2'])).toEqual([
      { name: 'Bob' },
    ]);
  });

  it('server errors carry the connector and table', async () => {
    const err = await expectIntegrationError(
      () => c.insert(`${schema}.orders`, { id: 1 }),
      ErrorCode.PostgresError,
    );
    expect(err.message).toContain(`[connector-postgres db] insert into ${schema}.orders failed`);
  });

  it('test() reports latency', async () => {
    const r = await c.test();
    expect(r.ok).toBe(true);
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(r.latencyMs).toBeLessThan(5000);
  });

  it('close() leaves a passed-in sql open, and closes its own client', async () => {
    const borrowed = await createPostgresConnector({ name: 'b', sql: admin });
    expect(
      (await borrowed.select({ table: `${schema}.customers`, where: { id: 'c1' }, columns: ['name'] }))[0],
    ).toEqual({ name: 'Ann' });
    await borrowed.close();
    expect(admin.closed).toBe(false);
    expect((await admin.query('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await expectIntegrationError(() => borrowed.query('SELECT 1'), ErrorCode.ProviderUnavailable);

    const own = await createPostgresConnector({ name: 'own', url: pg.url });
    await own.close();
    expect((await own.test()).ok).toBe(false);
  });

  it('refuses a URL that is not postgres:// with IN002, without its password', async () => {
    const err = await expectIntegrationError(
      () => createPostgresConnector({ name: 'x', url: 'mysql://u:hunter22@h/db' }),
      ErrorCode.InvalidConfiguration,
      { allowSyncThrow: true },
    );
    expect(err.message).not.toContain('hunter22');
    await expectIntegrationError(
      () => createPostgresConnector({ name: 'x', url: 'not a url' }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => createPostgresConnector({ name: 'x' }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => createPostgresConnector({ name: 'x', url: pg.url, sql: admin }),
      ErrorCode.InvalidConfiguration,
    );
    await expectIntegrationError(
      () => createPostgresConnector({ name: 'x', url: pg.url, ssl: { mode: 'prefer' as any } }),
      ErrorCode.InvalidConfiguration,
    );
  });

  it("ssl 'require' against the local server (no SSL) fails with a clear IntegrationError", async () => {
    const { rows } = await admin.query<{ ssl: string }>('SHOW ssl');
    const url = pg.url.replace(/\?.*$/, '');
    if (rows[0]!.ssl === 'on') {
      const s = await createPostgresConnector({ name: 'tls', url, ssl: { mode: 'require' } });
      expect((await s.test()).ok).toBe(true);
      await s.close();
      return;
    }
    let error: unknown;
    try {
      await createPostgresConnector({ name: 'tls', url, ssl: { mode: 'require' } });
    } catch (err) {
      error = err;
    }
    expect(isIntegrationError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^\[connector-postgres tls\] connect failed: .*SSL/);
  });

  it('maps ssl modes to pg options', () => {
    expect(sslConfig({ mode: 'disable' })).toBe(false);
    expect(sslConfig({ mode: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(sslConfig({ mode: 'verify-full', ca: 'CA', cert: 'C', key: 'K' })).toEqual({
      rejectUnauthorized: true,
      ca: 'CA',
      cert: 'C',
      key: 'K',
    });
    expect(sslConfig(undefined)).toBeUndefined();
  });
});
