import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { IntegrationError } from '@fraiseql/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqlClient, LOCK_FILE } from '../src/index.ts';
import { rejectionOf, tempDir, uniqueName, waitFor } from './helpers.ts';

const dirs: string[] = [];
function newDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('embedded PGlite in a directory', () => {
  it('creates a missing directory and keeps data across close and reopen', async () => {
    const dir = join(newDir(), 'nested', 'data');
    const first = await createSqlClient({ embeddedDir: dir });
    expect(first.kind).toBe('pglite');
    expect(existsSync(dir)).toBe(true);
    await first.exec('CREATE TABLE kept (id int PRIMARY KEY, v text)');
    await first.query('INSERT INTO kept VALUES ($1, $2)', [1, 'survives']);
    await first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    const second = await createSqlClient({ embeddedDir: dir });
    expect((await second.query('SELECT id, v FROM kept')).rows).toEqual([{ id: 1, v: 'survives' }]);
    await second.close();
  });

  it('refuses a second open of the same directory while the first is open', async () => {
    const dir = newDir();
    const first = await createSqlClient({ embeddedDir: dir });
    const err = await rejectionOf(createSqlClient({ embeddedDir: dir }));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('IN002');
    expect(err.message).toContain('already open');
    expect(err.message).toContain(LOCK_FILE);
    // The refused attempt must not have removed the first one's lock.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    await first.close();
    const again = await createSqlClient({ embeddedDir: dir });
    expect(await again.healthCheck()).toBe(true);
    await again.close();
  });

  it('refuses a directory locked by another live process and takes it over once that process is gone', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true });
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await waitFor(() => other.pid, 'child process');
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, host: hostname() }));
      const err = await rejectionOf(createSqlClient({ embeddedDir: dir }));
      expect(err.code).toBe('IN002');
      expect(err.message).toContain(`process ${other.pid}`);
    } finally {
      const exited = new Promise((r) => other.once('exit', r));
      other.kill('SIGKILL');
      await exited;
    }
    // Same lock file, but its process is dead: a crashed owner must not block forever.
    const sql = await createSqlClient({ embeddedDir: dir });
    expect((await sql.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await sql.close();
  });

  it('refuses an empty directory name with IN002', async () => {
    await expect(createSqlClient({ embeddedDir: '' })).rejects.toMatchObject({ code: 'IN002' });
  });
});

describe('PGlite transactions', () => {
  it('refuses a call on the client inside its own transaction instead of deadlocking', async () => {
    const sql = await createSqlClient();
    const table = uniqueName('t');
    await sql.exec(`CREATE TABLE "${table}" (id int)`);
    const seen = await sql.transaction(async (tx) => {
      await tx.query(`INSERT INTO "${table}" VALUES (1)`);
      const errors = [
        await rejectionOf(sql.query('SELECT 1')),
        await rejectionOf(sql.transaction(async () => {})),
        await rejectionOf(sql.listen('x', () => {})),
      ];
      return errors.map((e) => [e.code, /inside its own transaction/.test(e.message)]);
    });
    expect(seen).toEqual([
      ['IN405', true],
      ['IN405', true],
      ['IN405', true],
    ]);
    // The transaction itself was unharmed and committed.
    expect((await sql.query(`SELECT count(*) AS n FROM "${table}"`)).rows).toEqual([{ n: 1 }]);
    await sql.close();
  });

  it('lets a listener triggered by a commit use the client', async () => {
    const sql = await createSqlClient();
    const channel = uniqueName('wake');
    const results: unknown[] = [];
    await sql.listen(channel, () => {
      sql.query('SELECT 7 AS n').then(
        (r) => results.push(r.rows[0]),
        (e) => results.push(e),
      );
    });
    await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_notify($1, $2)', [channel, 'go']);
    });
    await waitFor(() => results.length === 1, 'listener query');
    expect(results).toEqual([{ n: 7 }]);
    await sql.close();
  });
});

describe('a PGlite instance passed in', () => {
  it('stays open after close() and loses only that client’s listeners', async () => {
    const db = await PGlite.create();
    try {
      const a = await createSqlClient({ pglite: db });
      const b = await createSqlClient({ pglite: db });
      const channel = uniqueName('shared');
      const gotA: string[] = [];
      const gotB: string[] = [];
      await a.listen(channel, (p) => gotA.push(p));
      await b.listen(`${channel}_b`, (p) => gotB.push(p));
      await a.close();
      expect(db.closed).toBe(false);
      await b.notify(channel, 'to a');
      await b.notify(`${channel}_b`, 'marker');
      await waitFor(() => gotB.length === 1, 'marker');
      expect(gotA).toEqual([]);
      // a's LISTEN was dropped from the shared engine; b's is still there.
      const { rows } = await db.query<{ ch: string }>('SELECT pg_listening_channels() AS ch');
      expect(rows.map((r) => r.ch)).toEqual([`${channel}_b`]);
      expect((await b.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      await b.close();
      expect(db.closed).toBe(false);
    } finally {
      await db.close();
    }
  });
});
