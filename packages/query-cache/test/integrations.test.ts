import { createIntegrations, parseConfig } from '@fraiseql/core';
import * as postgres from '@fraiseql/postgres';
import { uniqueName } from '@fraiseql/testkit';
import { describe, expect, it } from 'vitest';
import type { QueryCache } from '../src/index';
import * as queryCache from '../src/index';
import { pg } from './helpers';

/** createIntegrations with the real packages: `[query_cache]` gives the app a working QueryCache. */
describe.skipIf(!pg.available)('[query_cache] through createIntegrations', () => {
  it('serves repeated reads from [cache] and invalidates them on a write through it', async () => {
    const schema = uniqueName('qci');
    const config = parseConfig(
      `[postgres]\nurl_env = "DATABASE_URL"\n[cache]\nbackend = "memory"\n[query_cache]\nttl_seconds = 60\n`,
      { env: {} },
    );
    const packages: Record<string, Record<string, unknown>> = {
      '@fraiseql/postgres': postgres,
      '@fraiseql/query-cache': queryCache,
      '@fraiseql/cache-memory': await import('@fraiseql/cache-memory'),
    };
    const i = await createIntegrations(config, {
      env: { DATABASE_URL: pg.url },
      importer: async (spec) => packages[spec],
    });
    try {
      const qc = i.queryCache as QueryCache;
      await qc.exec(
        `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (id int PRIMARY KEY, v text); INSERT INTO "${schema}".t VALUES (1, 'a')`,
      );
      const read = () => qc.query<{ v: string }>(`SELECT v FROM "${schema}".t WHERE id = $1`, [1]);
      expect((await read()).rows).toEqual([{ v: 'a' }]);
      expect((await read()).rows).toEqual([{ v: 'a' }]);
      const before = qc.stats();
      expect(before.hits).toBeGreaterThanOrEqual(1);
      await qc.query(`UPDATE "${schema}".t SET v = 'b' WHERE id = 1`);
      expect((await read()).rows).toEqual([{ v: 'b' }]);
      expect(qc.stats().invalidations).toBeGreaterThan(before.invalidations);
      await qc.exec(`DROP SCHEMA "${schema}" CASCADE`);
    } finally {
      await i.close();
    }
  });
});
