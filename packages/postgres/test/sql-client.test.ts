import { IntegrationError } from '@fraiseql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, qualifiedName, type SqlClient, sqlState } from '../src/index.ts';
import { backends, gate, rejectionOf, uniqueName, waitFor } from './helpers.ts';

for (const backend of backends) {
  describe.skipIf(!backend.available)(`SqlClient on ${backend.name}`, () => {
    let sql: SqlClient;
    let cleanup: () => Promise<void>;
    const schema = uniqueName('pgt');
    /** A fresh table `(id int primary key, v text)` in this suite's schema. */
    const table = async () => {
      const t = qualifiedName(schema, uniqueName('t'));
      await sql.exec(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
      return t;
    };

    beforeAll(async () => {
      ({ sql, cleanup } = await backend.open());
      await sql.exec(`CREATE SCHEMA "${schema}"`);
    });

    afterAll(async () => {
      if (!sql) return;
      await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.close();
      await cleanup();
    });

    it('binds parameters: quotes and semicolons round-trip and execute nothing', async () => {
      const t = await table();
      const evil = `x'); DROP TABLE ${t}; -- "quoted" ; SELECT '1`;
      await sql.query(`INSERT INTO ${t} (id, v) VALUES ($1, $2)`, [1, evil]);
      const { rows } = await sql.query<{ v: string }>(`SELECT v FROM ${t} WHERE v = $1`, [evil]);
      expect(rows).toEqual([{ v: evil }]);
      const count = await sql.query<{ n: number }>(`SELECT count(*) AS n FROM ${t}`);
      expect(count.rows[0]!.n).toBe(1);
    });

    it('returns the same value types on every backend', async () => {
      const bytes = new Uint8Array([0, 1, 2, 254, 255]);
      const { rows } = await sql.query(
        `SELECT 42::int8 AS small, 9007199254740993::int8 AS big, count(*) AS n, $1::bytea AS b,
                $2::jsonb AS j, $3::timestamptz AS ts, 1.50::numeric AS num, NULL::text AS nothing`,
        [bytes, JSON.stringify({ a: [1, 'x'] }), new Date(Date.UTC(2024, 0, 2))],
      );
      const row = rows[0]!;
      expect(row.small).toBe(42);
      expect(row.big).toBe(9007199254740993n);
      expect(row.n).toBe(1);
      expect(row.b).toBeInstanceOf(Uint8Array);
      expect([...row.b]).toEqual([...bytes]);
      expect(row.j).toEqual({ a: [1, 'x'] });
      expect(row.ts).toBeInstanceOf(Date);
      expect(row.ts.toISOString()).toBe('2024-01-02T00:00:00.000Z');
      expect(row.num).toBe('1.50');
      expect(row.nothing).toBeNull();
    });

    it('reports rowCount for SELECT, INSERT, UPDATE and DELETE', async () => {
      const t = await table();
      expect((await sql.query(`INSERT INTO ${t} VALUES (1, 'a'), (2, 'b'), (3, 'c')`)).rowCount).toBe(3);
      expect((await sql.query(`UPDATE ${t} SET v = 'z' WHERE id >= $1`, [2])).rowCount).toBe(2);
      expect((await sql.query(`SELECT * FROM ${t}`)).rowCount).toBe(3);
      const del = await sql.query<{ id: number }>(`DELETE FROM ${t} WHERE id = 1 RETURNING id`);
      expect(del).toEqual({ rows: [{ id: 1 }], rowCount: 1 });
    });

    it('query() takes one statement; exec() runs a script', async () => {
      const err = await rejectionOf(sql.query('SELECT 1; SELECT 2'));
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.code).toBe('IN405');
      const t = qualifiedName(schema, uniqueName('s'));
      await sql.exec(`CREATE TABLE ${t} (a int); INSERT INTO ${t} VALUES (1); INSERT INTO ${t} VALUES (2);`);
      expect((await sql.query(`SELECT a FROM ${t} ORDER BY a`)).rows).toEqual([{ a: 1 }, { a: 2 }]);
    });

    it('maps a syntax error to IN405 with its SQLSTATE and the driver error as cause', async () => {
      const err = await rejectionOf(sql.query('SELEC 1'));
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.code).toBe('IN405');
      expect(err.kind).toBe('database');
      expect(err.provider).toBe('postgresql');
      expect(err.message).toContain('42601');
      expect(sqlState(err)).toBe('42601');
      expect(err.cause).toBeInstanceOf(Error);
      expect(err.toJSON().error.code).toBe('IN405');
    });

    it('keeps a unique violation detectable (SQLSTATE 23505)', async () => {
      const t = await table();
      await sql.query(`INSERT INTO ${t} VALUES (1, 'a')`);
      const err = await rejectionOf(sql.query(`INSERT INTO ${t} VALUES (1, 'b')`));
      expect(err.code).toBe('IN405');
      expect(isUniqueViolation(err)).toBe(true);
      expect(isUniqueViolation(await rejectionOf(sql.query('SELECT 1/0')))).toBe(false);
    });

    it('commits a transaction whose callback resolves, and returns its value', async () => {
      const t = await table();
      const out = await sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${t} VALUES (1, 'a')`);
        await tx.query(`INSERT INTO ${t} VALUES (2, 'b')`);
        return (await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n;
      });
      expect(out).toBe(2);
      expect((await sql.query(`SELECT id FROM ${t} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('rolls back when the callback throws and rethrows the same error', async () => {
      const t = await table();
      const boom = new Error('boom');
      const err = await rejectionOf(
        sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES (1, 'a')`);
          throw boom;
        }),
      );
      expect(err).toBe(boom);
      expect((await sql.query(`SELECT * FROM ${t}`)).rowCount).toBe(0);
    });

    it('refuses to commit a transaction whose failed statement was swallowed', async () => {
      const t = await table();
      const err = await rejectionOf(
        sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES (1, 'a')`);
          await tx.query(`INSERT INTO ${t} VALUES (1, 'dup')`).catch(() => {});
        }),
      );
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.code).toBe('IN405');
      expect(err.message).toContain('25P02');
      expect(sqlState(err)).toBe('25P02');
      expect((await sql.query(`SELECT * FROM ${t}`)).rowCount).toBe(0);
    });

    it('refuses a transaction executor used after its transaction ended', async () => {
      let kept: any;
      await sql.transaction(async (tx) => {
        kept = tx;
      });
      const err = await rejectionOf(kept.query('SELECT 1'));
      expect(err.code).toBe('IN405');
      expect(err.message).toContain('transaction already finished');
    });

    it('keeps statements issued outside a running transaction out of it', async () => {
      const t = await table();
      const started = gate();
      const release = gate();
      const order: string[] = [];
      const tx = sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${t} VALUES (1, 'in-tx')`);
        started.open();
        await release.promise;
        await tx.query('SELECT 1');
        order.push('tx body done');
        throw new Error('roll back');
      });
      await started.promise;
      const outside = sql
        .query(`INSERT INTO ${t} VALUES (2, 'outside')`)
        .then(() => order.push('outside done'));
      // Give the outside statement every chance to run now if it could slip into the transaction.
      await new Promise((r) => setTimeout(r, 100));
      release.open();
      await expect(tx).rejects.toThrow('roll back');
      await outside;
      // The outside insert was not part of the rolled-back transaction.
      expect((await sql.query(`SELECT id, v FROM ${t}`)).rows).toEqual([{ id: 2, v: 'outside' }]);
      if (sql.kind === 'pglite') {
        // One connection: the outside statement waited for the transaction to end.
        expect(order).toEqual(['tx body done', 'outside done']);
      }
    });

    it('delivers NOTIFY payloads to every listener of a case-sensitive channel', async () => {
      const channel = `Chan.${uniqueName('n')}:X`;
      const a: string[] = [];
      const b: string[] = [];
      const other: string[] = [];
      const unA = await sql.listen(channel, (p) => a.push(p));
      const unB = await sql.listen(channel, (p) => b.push(p));
      const unOther = await sql.listen(channel.toLowerCase(), (p) => other.push(p));
      await sql.notify(channel, `it's "1"; --`);
      await sql.notify(channel, '');
      await waitFor(() => a.length === 2 && b.length === 2, 'both listeners');
      expect(a).toEqual([`it's "1"; --`, '']);
      expect(b).toEqual(a);

      // After one unsubscribes, the other still gets notifications and it gets none.
      await unA();
      await unA();
      await sql.notify(channel, 'second');
      await sql.notify(channel.toLowerCase(), 'lower');
      await waitFor(() => b.length === 3 && other.length === 1, 'remaining listeners');
      expect(a).toHaveLength(2);
      expect(other).toEqual(['lower']);
      await unB();
      await unOther();
    });

    it('delivers a NOTIFY sent in a transaction only when it commits', async () => {
      const channel = uniqueName('txn');
      const got: string[] = [];
      const unlisten = await sql.listen(channel, (p) => got.push(p));
      await rejectionOf(
        sql.transaction(async (tx) => {
          await tx.query('SELECT pg_notify($1, $2)', [channel, 'rolled back']);
          throw new Error('abort');
        }),
      );
      await sql.transaction(async (tx) => {
        await tx.query('SELECT pg_notify($1, $2)', [channel, 'committed']);
      });
      await waitFor(() => got.includes('committed'), 'committed notification');
      expect(got).toEqual(['committed']);
      await unlisten();
    });

    it('ignores a listener that throws and keeps delivering', async () => {
      const channel = uniqueName('thr');
      const got: string[] = [];
      const un1 = await sql.listen(channel, () => {
        throw new Error('listener bug');
      });
      const un2 = await sql.listen(channel, (p) => got.push(p));
      await sql.notify(channel, 'one');
      await sql.notify(channel, 'two');
      await waitFor(() => got.length === 2, 'notifications');
      expect(got).toEqual(['one', 'two']);
      await un1();
      await un2();
    });

    it('rejects invalid channel names', async () => {
      await expect(sql.listen('', () => {})).rejects.toMatchObject({ code: 'IN002' });
      await expect(sql.notify('x'.repeat(64), 'p')).rejects.toMatchObject({ code: 'IN002' });
    });

    it('answers a health check', async () => {
      expect(await sql.healthCheck()).toBe(true);
    });
  });
}

for (const backend of backends) {
  describe.skipIf(!backend.available)(`closing a SqlClient on ${backend.name}`, () => {
    it('is idempotent, fails later calls with IN405 and reports unhealthy', async () => {
      const { sql, cleanup } = await backend.open();
      const un = await sql.listen(uniqueName('c'), () => {});
      expect(sql.closed).toBe(false);
      await Promise.all([sql.close(), sql.close()]);
      await sql.close();
      expect(sql.closed).toBe(true);
      await un();
      const err = await rejectionOf(sql.query('SELECT 1'));
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.code).toBe('IN405');
      expect(err.message).toContain('closed');
      await expect(sql.transaction(async () => {})).rejects.toMatchObject({ code: 'IN405' });
      await expect(sql.listen('x', () => {})).rejects.toMatchObject({ code: 'IN405' });
      expect(await sql.healthCheck()).toBe(false);
      await cleanup();
    });
  });
}
