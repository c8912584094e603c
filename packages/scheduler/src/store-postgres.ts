import { migrate, quoteIdent, type SqlClient } from '@fraiseql/postgres';
import type { ScheduleDef } from './definition';
import type { ClaimRef, ScheduleStore, StoredSchedule, TickRef } from './store';

interface Tables {
  schema: string;
  schedules: string;
  claims: string;
  meta: string;
}

function tables(schema: string): Tables {
  const s = quoteIdent(schema, 'schema');
  return {
    schema: s,
    schedules: `${s}.scheduler_schedules`,
    claims: `${s}.scheduler_claims`,
    meta: `${s}.scheduler_meta`,
  };
}

function migrations(t: Tables) {
  return [
    {
      id: '001_schedules',
      up: `
CREATE TABLE IF NOT EXISTS ${t.schedules} (
  id text PRIMARY KEY,
  def jsonb NOT NULL,
  backfill_ms bigint NOT NULL DEFAULT 0,
  lim bigint,
  created_ms bigint NOT NULL,
  updated_ms bigint NOT NULL,
  -- Claims already pruned: the fired count and latest tick are these plus what the claims hold,
  -- so the hot path (claiming 10,000 ticks a second) never rewrites the schedule rows.
  fired bigint NOT NULL DEFAULT 0,
  last_tick bigint
);
CREATE TABLE IF NOT EXISTS ${t.claims} (
  -- No foreign key: its per-row check and KEY SHARE lock on the schedule cost more than the claim
  -- itself at 10,000 claims a second; remove() deletes a schedule's claims in the same statement.
  schedule_id text NOT NULL,
  tick bigint NOT NULL,
  owner text NOT NULL,
  claimed_ms bigint NOT NULL,
  job_id text,
  PRIMARY KEY (schedule_id, tick)
);
CREATE INDEX IF NOT EXISTS scheduler_claims_open_idx ON ${t.claims} (claimed_ms) WHERE job_id IS NULL;
CREATE TABLE IF NOT EXISTS ${t.meta} (k text PRIMARY KEY, v bigint NOT NULL);
INSERT INTO ${t.meta} (k, v) VALUES ('version', 0) ON CONFLICT DO NOTHING;`,
    },
  ];
}

interface Row {
  def: ScheduleDef;
  created_ms: number;
  fired: number;
  last_tick: number | null;
  last_job_id: string | null;
}

function toStored(r: Row): StoredSchedule {
  return {
    def: r.def,
    createdAtMs: Number(r.created_ms),
    fired: Number(r.fired),
    lastTick: r.last_tick === null ? null : Number(r.last_tick),
    lastJobId: r.last_job_id,
  };
}

const ids = (ticks: TickRef[]) => ticks.map((t) => t.id);
const tickNums = (ticks: TickRef[]) => ticks.map((t) => t.tick);
const refs = (rows: { schedule_id: string; tick: number }[]): TickRef[] =>
  rows.map((r) => ({ id: r.schedule_id, tick: Number(r.tick) }));
/** A stable order, so two schedulers inserting overlapping claims lock them in the same order. */
const sorted = (ticks: TickRef[]) =>
  [...ticks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.tick - b.tick));

/** Schedules and claims in Postgres (a server through `pg`, or PGlite): shared by every process on the database. */
export class PostgresScheduleStore implements ScheduleStore {
  readonly name = 'postgresql';
  readonly #sql: SqlClient;
  readonly #t: Tables;
  readonly #owned: boolean;

  constructor(sql: SqlClient, schema: string, owned: boolean) {
    this.#sql = sql;
    this.#t = tables(schema);
    this.#owned = owned;
  }

  async init(): Promise<void> {
    await migrate(this.#sql, {
      schema: this.#t.schema.slice(1, -1),
      namespace: 'scheduler',
      steps: migrations(this.#t),
    });
  }

  async sync(nowMs: number): Promise<{ version: string; scannedMs: number | null }> {
    const r = await this.#sql.query<{ version: number; scanned: number | null }>(
      `WITH prev AS (SELECT v FROM ${this.#t.meta} WHERE k = 'scan'),
       up AS (INSERT INTO ${this.#t.meta} AS m (k, v) VALUES ('scan', $1) ON CONFLICT (k) DO UPDATE SET v = greatest(m.v, EXCLUDED.v))
       SELECT (SELECT v FROM ${this.#t.meta} WHERE k = 'version') AS version, (SELECT v FROM prev) AS scanned`,
      [nowMs],
      { prepare: true },
    );
    const row = r.rows[0];
    return {
      version: String(row?.version ?? 0),
      scannedMs: row?.scanned == null ? null : Number(row.scanned),
    };
  }

  async put(def: ScheduleDef, nowMs: number): Promise<void> {
    await this.#sql.query(
      `WITH up AS (
         INSERT INTO ${this.#t.schedules} (id, def, backfill_ms, lim, created_ms, updated_ms)
         VALUES ($1, $2::jsonb, $3, $4, $5, $5)
         ON CONFLICT (id) DO UPDATE SET def = EXCLUDED.def, backfill_ms = EXCLUDED.backfill_ms,
           lim = EXCLUDED.lim, updated_ms = EXCLUDED.updated_ms
         RETURNING id)
       UPDATE ${this.#t.meta} SET v = v + 1 WHERE k = 'version' AND EXISTS (SELECT 1 FROM up)`,
      [def.id, JSON.stringify(def), def.backfillMs, def.limit ?? null, nowMs],
    );
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.#sql.query<{ n: number }>(
      `WITH del AS (DELETE FROM ${this.#t.schedules} WHERE id = $1 RETURNING id),
       claims AS (DELETE FROM ${this.#t.claims} WHERE schedule_id = $1),
       bump AS (UPDATE ${this.#t.meta} SET v = v + 1 WHERE k = 'version' AND EXISTS (SELECT 1 FROM del))
       SELECT count(*)::int AS n FROM del`,
      [id],
    );
    return (r.rows[0]?.n ?? 0) > 0;
  }

  #select(where: string): string {
    return `SELECT s.def, s.created_ms,
        s.fired + (SELECT count(*) FROM ${this.#t.claims} c WHERE c.schedule_id = s.id) AS fired,
        greatest(s.last_tick, (SELECT max(c.tick) FROM ${this.#t.claims} c WHERE c.schedule_id = s.id)) AS last_tick,
        (SELECT c.job_id FROM ${this.#t.claims} c WHERE c.schedule_id = s.id AND c.job_id IS NOT NULL
          ORDER BY c.tick DESC LIMIT 1) AS last_job_id
      FROM ${this.#t.schedules} s ${where}`;
  }

  async get(id: string): Promise<StoredSchedule | null> {
    const r = await this.#sql.query<Row>(this.#select('WHERE s.id = $1'), [id]);
    return r.rows[0] ? toStored(r.rows[0]) : null;
  }

  async all(): Promise<StoredSchedule[]> {
    const r = await this.#sql.query<Row>(this.#select('ORDER BY s.id'));
    return r.rows.map(toStored);
  }

  async claim(ticks: ClaimRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    if (ticks.length === 0) return [];
    const input = sorted(ticks.filter((t) => !t.limited));
    const limitedIds = [...new Set(ticks.filter((t) => t.limited).map((t) => t.id))];
    // One statement: insert the claims nobody holds yet (schedules without a limit). Limited
    // schedules go through #claimLimited (a row lock makes the limit exact across processes).
    if (input.length === 0) return this.#claimAllLimited(ticks, limitedIds, owner, nowMs, []);
    const r = await this.#sql.query<{ schedule_id: string; tick: number }>(
      `WITH input AS (SELECT * FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(id, tick, ord)),
       ins AS (
         INSERT INTO ${this.#t.claims} (schedule_id, tick, owner, claimed_ms)
         SELECT u.id, u.tick, $3, greatest($4::bigint, u.tick) FROM input u
         WHERE EXISTS (SELECT 1 FROM ${this.#t.schedules} s WHERE s.id = u.id AND s.lim IS NULL)
         ORDER BY u.ord
         ON CONFLICT DO NOTHING
         RETURNING schedule_id, tick)
       SELECT schedule_id, tick FROM ins`,
      [ids(input), tickNums(input), owner, nowMs],
    );
    return this.#claimAllLimited(ticks, limitedIds, owner, nowMs, refs(r.rows));
  }

  async #claimAllLimited(
    ticks: ClaimRef[],
    limitedIds: string[],
    owner: string,
    nowMs: number,
    won: TickRef[],
  ): Promise<TickRef[]> {
    for (const id of limitedIds) {
      const mine = ticks.filter((t) => t.id === id).sort((a, b) => a.tick - b.tick);
      won.push(...(await this.#claimLimited(id, mine, owner, nowMs)));
    }
    return won;
  }

  async #claimLimited(id: string, ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    return this.#sql.transaction(async (tx) => {
      const lock = await tx.query<{ lim: number }>(
        `SELECT lim FROM ${this.#t.schedules} WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!lock.rows[0]) return [];
      const s = await tx.query<{ fired: number; lim: number }>(
        `SELECT s.lim, s.fired + (SELECT count(*) FROM ${this.#t.claims} c WHERE c.schedule_id = s.id) AS fired
         FROM ${this.#t.schedules} s WHERE s.id = $1`,
        [id],
      );
      const row = s.rows[0];
      if (!row) return [];
      const room = Number(row.lim) - Number(row.fired);
      const won: TickRef[] = [];
      for (const t of ticks) {
        if (won.length >= room) break;
        const ins = await tx.query(
          `INSERT INTO ${this.#t.claims} (schedule_id, tick, owner, claimed_ms)
           VALUES ($1, $2, $3, greatest($4::bigint, $2::bigint))
           ON CONFLICT DO NOTHING`,
          [id, t.tick, owner, nowMs],
        );
        if (ins.rowCount > 0) won.push(t);
      }
      return won;
    });
  }

  async complete(done: (TickRef & { jobId: string })[]): Promise<void> {
    if (done.length === 0) return;
    await this.#sql.query(
      `UPDATE ${this.#t.claims} c SET job_id = u.job
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, tick, job)
       WHERE c.schedule_id = u.id AND c.tick = u.tick`,
      [ids(done), tickNums(done), done.map((d) => d.jobId)],
    );
  }

  async touch(ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    if (ticks.length === 0) return [];
    const r = await this.#sql.query<{ schedule_id: string; tick: number }>(
      `UPDATE ${this.#t.claims} c SET claimed_ms = $4
       FROM unnest($1::text[], $2::bigint[]) AS u(id, tick)
       WHERE c.schedule_id = u.id AND c.tick = u.tick AND c.owner = $3 AND c.job_id IS NULL
       RETURNING c.schedule_id, c.tick`,
      [ids(ticks), tickNums(ticks), owner, nowMs],
    );
    return refs(r.rows);
  }

  async takeStale(owner: string, nowMs: number, leaseMs: number, max: number): Promise<TickRef[]> {
    const r = await this.#sql.query<{ schedule_id: string; tick: number }>(
      `UPDATE ${this.#t.claims} c SET owner = $1, claimed_ms = $2
       FROM (SELECT schedule_id, tick FROM ${this.#t.claims}
             WHERE job_id IS NULL AND claimed_ms < $3
             ORDER BY claimed_ms LIMIT $4 FOR UPDATE SKIP LOCKED) AS old
       WHERE c.schedule_id = old.schedule_id AND c.tick = old.tick AND c.job_id IS NULL
       RETURNING c.schedule_id, c.tick`,
      [owner, nowMs, nowMs - leaseMs, max],
    );
    return refs(r.rows);
  }

  async prune(nowMs: number, keepMs: number): Promise<void> {
    // The pruned claims move into the schedule's counters in the same statement.
    await this.#sql.query(
      `WITH del AS (
         DELETE FROM ${this.#t.claims} c USING ${this.#t.schedules} s
         WHERE c.schedule_id = s.id AND c.job_id IS NOT NULL AND c.tick < $1 - s.backfill_ms - $2
         RETURNING c.schedule_id, c.tick),
       agg AS (SELECT schedule_id, count(*) AS n, max(tick) AS mt FROM del GROUP BY schedule_id)
       UPDATE ${this.#t.schedules} s SET fired = s.fired + agg.n, last_tick = greatest(s.last_tick, agg.mt)
       FROM agg WHERE s.id = agg.schedule_id`,
      [nowMs, keepMs],
    );
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#sql.close();
  }
}
