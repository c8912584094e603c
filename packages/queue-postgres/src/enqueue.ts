import { randomUUID } from 'node:crypto';
import {
  assertEnqueueOptions,
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type ResolvedQueueOptions,
  toJson,
} from '@fraiseql/core';
import type { SqlExecutor } from '@fraiseql/postgres';
import { PROVIDER } from './internals';
import type { QueueTables } from './schema';

export interface InsertContext {
  t: QueueTables;
  /** Where the INSERT runs: the caller's transaction or the provider's connection. */
  exec: SqlExecutor;
  /** The queue's resolved options (read once the batch is known not to be empty). */
  defaults(): ResolvedQueueOptions;
  maxJobBytes: number;
  error(err: unknown, context: string): IntegrationError;
}

/** The enqueue statement: inserts a batch, answers dedup hits with the holder's id, wakes workers. */
const insertSql = (t: QueueTables): string => `
WITH input AS (
  SELECT x.*, d.data FROM json_to_recordset($1::json)
    AS x(pos int, ord int, id uuid, priority int, delay double precision, max_retries int, timeout_ms int, dedup_key text)
  JOIN json_array_elements($4::json) WITH ORDINALITY AS d(data, n) ON d.n = x.pos + 1
), ins AS (
  INSERT INTO ${t.jobs} (id, queue, data, priority, run_at, max_retries, timeout_ms, dedup_key)
  SELECT id, $2, data, priority, now() + delay * interval '1 millisecond', max_retries, timeout_ms, dedup_key
  FROM input ORDER BY ord
  ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL AND state IN ('pending', 'running') DO NOTHING
  RETURNING id
), wake AS (
  SELECT pg_notify($3, $2) AS n WHERE EXISTS (SELECT 1 FROM ins)
)
SELECT input.ord, COALESCE(ins.id, existing.id) AS id
FROM input
LEFT JOIN ins ON ins.id = input.id
LEFT JOIN LATERAL (
  SELECT j.id FROM ${t.jobs} j
  WHERE ins.id IS NULL AND j.queue = $2 AND j.dedup_key = input.dedup_key AND j.state IN ('pending', 'running')
  LIMIT 1
) existing ON true
LEFT JOIN wake ON true`;

/**
 * Inserts a batch of jobs into one queue and returns their ids in order; an item whose dedup key
 * is held by a pending/running job (or by an earlier item of the batch) gets that job's id.
 */
export async function insertJobs<T>(
  ctx: InsertContext,
  queue: string,
  items: { data: T; opts?: EnqueueOptions | undefined }[],
): Promise<string[]> {
  if (items.length === 0) return [];
  const { t, exec } = ctx;
  const defaults = ctx.defaults();
  const ids: (string | null)[] = new Array(items.length).fill(null);
  const firstOfKey = new Map<string, number>();
  const sameAs: number[] = [];
  // Rows go to Postgres as two JSON array parameters built as text, so each payload is
  // serialised once: the options ($1, read with json_to_recordset) and the payloads ($4, read
  // with json_array_elements, which keeps them verbatim — json_to_recordset would choke on \u0000).
  const records: string[] = [];
  const datas: string[] = [];
  items.forEach((item, i) => {
    if (!item || typeof item !== 'object')
      throw IntegrationError.invalidInput(
        ErrorCode.InvalidJobData,
        `item ${i} must be { data, opts? }`,
        'items',
      );
    const o = item.opts ?? {};
    assertEnqueueOptions(o);
    const data = toJson(item.data, ErrorCode.InvalidJobData, 'Job data', ctx.maxJobBytes);
    const dedup = o.dedupKey ?? null;
    if (dedup !== null) {
      const first = firstOfKey.get(dedup);
      if (first !== undefined) {
        sameAs[i] = first; // a second item with a key of this batch: the first one's job
        return;
      }
      firstOfKey.set(dedup, i);
    }
    datas[i] = data;
    records[i] =
      `"ord":${i},"id":"${randomUUID()}","priority":${o.priority ?? 0},"delay":${o.delayMs ?? 0},` +
      `"max_retries":${o.maxRetries ?? defaults.maxRetries},"timeout_ms":${o.timeoutMs === undefined ? 'null' : Math.ceil(o.timeoutMs)},` +
      `"dedup_key":${dedup === null ? 'null' : JSON.stringify(dedup)}}`;
  });
  const sql = insertSql(t);
  let todo = records.map((_, i) => i).filter((i) => records[i] !== undefined);
  for (let attempt = 0; todo.length > 0; attempt++) {
    if (attempt > 5) {
      throw new IntegrationError(
        ErrorCode.DuplicateJob,
        `[queue-postgres] enqueue into "${queue}": dedup keys kept changing hands; try again`,
        { provider: PROVIDER },
      );
    }
    const meta = `[${todo.map((i, pos) => `{"pos":${pos},${records[i]}`).join(',')}]`;
    const payloads = `[${todo.map((i) => datas[i]).join(',')}]`;
    let rows: { ord: number; id: string | null }[];
    try {
      rows = (
        await exec.query<{ ord: number; id: string | null }>(sql, [meta, queue, t.channel, payloads], {
          prepare: true,
        })
      ).rows;
    } catch (err) {
      throw ctx.error(err, `enqueue into "${queue}" failed`);
    }
    for (const r of rows) ids[r.ord] = r.id;
    // A null id: the job holding its dedup key was committed after this statement's snapshot,
    // or finished in between. Only those rows are tried again (the others are in).
    todo = todo.filter((i) => ids[i] === null);
  }
  sameAs.forEach((first, i) => {
    ids[i] = ids[first]!;
  });
  return ids as string[];
}
