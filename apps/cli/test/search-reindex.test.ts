import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqlClient } from '@fraiseql/postgres';
import { checkService, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson } from './helpers.ts';

const pg = await checkService('postgres');

describe.skipIf(!pg.available)('search reindex', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-cli-reindex-'));
  const schema = uniqueName('clirx');
  const env = { DATABASE_URL: pg.url };
  const run = (args: string[]) => cliJson(args, { cwd, env });
  beforeAll(() => {
    writeFileSync(
      join(cwd, 'fraiseql.toml'),
      `[search]\nprovider = "postgresql"\nschema = "${schema}"\n\n[postgres]\nurl_env = "DATABASE_URL"\n`,
    );
  });
  afterAll(async () => {
    rmSync(cwd, { recursive: true, force: true });
    const sql = await createSqlClient({ url: pg.url });
    await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.close();
  });

  it('rebuilds from a SELECT with a progress line (rate, ETA) and a summary', () => {
    expect(run(['search', 'configure', 'books', '--searchable', 'title', '--sortable', 'n']).code).toBe(0);
    const r = cli(
      [
        'search',
        'reindex',
        'books',
        '--from-sql',
        "SELECT 'b' || g AS id, 'book ' || g AS title, g AS n FROM generate_series(1, 2500) g",
        '--batch',
        '500',
        '--progress',
        '--format',
        'json',
      ],
      { cwd, env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ index: 'books', documents: 2500, failed: 0 });
    expect(r.stderr).toMatch(/2500\/2500 documents {2}\d+ docs\/s/);
    expect(r.stderr).toMatch(/ETA \d+/);
    const q = run(['search', 'query', 'books', 'book', '--sort', 'n:desc', '--limit', '1']);
    expect(q.json.totalHits).toBe(2500);
    expect(q.json.hits[0].id).toBe('b2500');
  }, 60_000);

  it('rebuilds from a JSON Lines file; a bad line or a second SQL statement fails and the old index stays', () => {
    const docs = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `f${i}`, title: `file ${i}` }));
    writeFileSync(join(cwd, 'docs.ndjson'), `${docs.join('\n')}\n\n`);
    const ok = run(['search', 'reindex', 'books', '--from-file', 'docs.ndjson']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json).toMatchObject({ documents: 300, failed: 0 });
    writeFileSync(join(cwd, 'broken.ndjson'), `${docs.slice(0, 50).join('\n')}\nnot json\n`);
    const broken = cli(['search', 'reindex', 'books', '--from-file', 'broken.ndjson'], { cwd, env });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('line 51');
    const twoStatements = cli(['search', 'reindex', 'books', '--from-sql', 'SELECT 1 AS id; DROP TABLE x'], {
      cwd,
      env,
    });
    expect(twoStatements.code).toBe(2);
    expect(twoStatements.stderr).toContain('single statement');
    expect(run(['search', 'query', 'books', '']).json.totalHits).toBe(300);
    expect(cli(['search', 'reindex', 'books'], { cwd, env }).code).toBe(2);
  }, 60_000);
});
