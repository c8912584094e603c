// reindex: zero-downtime reindex (DESIGN §14.3) of N documents into @fraiseql/search-postgres —
// `reindex()` streaming a SELECT (`sqlRows`, a cursor) into `<index>__<ts>` in batches of 1000 and
// swapping it in — against the same rebuild written by hand in SQL: a new table of the same shape
// (generated weighted tsvector), one `INSERT … SELECT to_jsonb(row)`, the GIN indexes built after
// the load, then DROP + RENAME in one transaction. A second row compares with the provider's plain
// `indexDocuments` batches (the same documents, pushed from memory into a fresh index, no swap).
import { reindex } from '@fraiseql/core';
import { createSqlClient } from '@fraiseql/postgres';
import { createPostgresSearch, sqlRows } from '@fraiseql/search-postgres';
import { compareOne, now, unmeasured } from '../lib/harness.mjs';

export const name = 'reindex';

const CONFIG = { searchable: ['title', 'body'], filterable: ['price'] };

function rowsSql() {
  return `SELECT 'd' || g AS id, 'title ' || g || ' of the catalogue' AS title,
    'body text number ' || g || ' with some words to index ' || (g % 97) AS body, (g % 1000) AS price
    FROM generate_series(1, $1::int) AS g`;
}

export async function run(ctx) {
  const N = ctx.quick ? 20_000 : 100_000;
  const rounds = ctx.quick ? 1 : 3;
  const rows = [];
  const handRow = {
    benchmark: `reindex: ${N} documents into search-postgres (SELECT → new index → swap)`,
    unit: 'docs/s',
    higherIsBetter: true,
    aim: 0.7,
  };
  const bulkRow = {
    benchmark: `reindex: ${N} documents vs plain indexDocuments batches of 1000 (no swap)`,
    unit: 'docs/s',
    higherIsBetter: true,
    aim: null,
  };
  if (!ctx.services.postgres.up) {
    rows.push(
      unmeasured({ ...handRow, peerName: 'hand-written INSERT … SELECT + rename' }, 'PostgreSQL unreachable'),
    );
    rows.push(unmeasured({ ...bulkRow, peerName: 'indexDocuments batches' }, 'PostgreSQL unreachable'));
    return rows;
  }
  const sql = await createSqlClient({ url: ctx.services.postgres.url });
  const schema = `bench_rx_${process.pid}`;
  try {
    await sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await sql.query(`CREATE TABLE ${schema}.src AS ${rowsSql()}`, [N]);
    await sql.exec(`ALTER TABLE ${schema}.src ADD PRIMARY KEY (id); ANALYZE ${schema}.src`);
    const search = await createPostgresSearch({ sql, schema });
    await search.configureIndex('live', CONFIG);
    const select = `SELECT id, title, body, price FROM ${schema}.src`;

    const ours = async () => {
      const r = await reindex(search, { index: 'live', source: () => sqlRows(sql, select), config: CONFIG });
      if (r.documents !== N) throw new Error(`reindexed ${r.documents} of ${N}`);
      return (r.documents * 1000) / r.tookMs;
    };

    const tsv = (field, weight) =>
      `setweight(COALESCE(jsonb_to_tsvector('english'::regconfig, doc -> '${field}', '["string", "numeric"]'), ''::tsvector), '${weight}')`;
    const hand = async () => {
      const t0 = now();
      await sql.exec(`DROP TABLE IF EXISTS ${schema}.hand_new;
        CREATE TABLE ${schema}.hand_new (
          id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL,
          tsv tsvector GENERATED ALWAYS AS (${tsv('title', 'A')} || ${tsv('body', 'B')}) STORED,
          indexed_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO ${schema}.hand_new (id, doc) SELECT s.id, to_jsonb(s) FROM ${schema}.src s;
        CREATE INDEX hand_new_tsv ON ${schema}.hand_new USING gin (tsv);
        CREATE INDEX hand_new_doc ON ${schema}.hand_new USING gin (doc jsonb_path_ops);`);
      await sql.transaction(async (tx) => {
        await tx.exec(`DROP TABLE IF EXISTS ${schema}.hand_live;
          ALTER TABLE ${schema}.hand_new RENAME TO hand_live;
          ALTER INDEX ${schema}.hand_new_tsv RENAME TO hand_live_tsv;
          ALTER INDEX ${schema}.hand_new_doc RENAME TO hand_live_doc;`);
      });
      return (N * 1000) / (now() - t0);
    };

    const docs = (await sql.query(select)).rows.map((d) => ({ id: d.id, index: 'bulk', data: d }));
    let bulkRun = 0;
    const bulk = async () => {
      const index = `bulk${bulkRun++}`;
      await search.configureIndex(index, CONFIG);
      const t0 = now();
      for (let i = 0; i < docs.length; i += 1000) {
        const r = await search.indexDocuments(docs.slice(i, i + 1000).map((d) => ({ ...d, index })));
        if (r.failed.length) throw new Error(`bulk: ${r.failed.length} failed`);
      }
      const rate = (N * 1000) / (now() - t0);
      await search.dropIndex(index);
      return rate;
    };

    rows.push(
      await compareOne({
        ...handRow,
        peerName: 'hand-written INSERT … SELECT + rename',
        rounds,
        warmup: 0,
        log: ctx.log,
        ours,
        peer: hand,
      }),
    );
    rows.push(
      await compareOne({
        ...bulkRow,
        peerName: 'indexDocuments batches of 1000',
        rounds,
        warmup: 0,
        log: ctx.log,
        ours,
        peer: bulk,
      }),
    );
  } finally {
    await sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await sql.close();
  }
  return rows;
}
