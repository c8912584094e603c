import { ErrorCode } from '@fraiseql/core';
import { migrate, qualifiedName, type SqlClient } from '@fraiseql/postgres';
import { observersError } from './errors';
import type {
  ActionDefinition,
  DlqEntry,
  DlqInput,
  EntityEvent,
  ExecutionRecord,
  ListenerInfo,
} from './types';

/** Where the reader stands: a snapshot window (lo, hi] of the change log and the last id done in it. */
export interface Cursor {
  /** Transactions visible in `lo` were fully processed; null = none yet. */
  lo: string | null;
  /** The window being worked through; null = take a new snapshot. */
  hi: string | null;
  /** Highest id processed within the window (ids are read in order inside it). */
  lastId: string;
  /** Highest id ever processed (the seed's `event_id`). */
  eventId: string;
}

export interface Leadership {
  epoch: number;
  previous: string | null;
}

const STEPS = [
  {
    id: '001_observer_tables',
    up: `
      CREATE TABLE IF NOT EXISTS observer_checkpoints (
        id bigserial PRIMARY KEY,
        listener_id varchar(255) NOT NULL UNIQUE,
        event_id bigint NOT NULL DEFAULT 0,
        last_processed_at timestamp NOT NULL DEFAULT now(),
        created_at timestamp DEFAULT now(),
        updated_at timestamp DEFAULT now(),
        snapshot_lo text,
        snapshot_hi text,
        window_last_id bigint NOT NULL DEFAULT 0,
        leader_id text,
        epoch bigint NOT NULL DEFAULT 0,
        leader_heartbeat_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS idx_observer_checkpoints_updated_at ON observer_checkpoints (updated_at);
      CREATE TABLE IF NOT EXISTS observer_listeners (
        listener_id text PRIMARY KEY,
        group_name text NOT NULL,
        role text NOT NULL,
        hostname text NOT NULL,
        pid integer NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        last_heartbeat_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS observer_dlq (
        id bigserial PRIMARY KEY,
        group_name text NOT NULL,
        event_id bigint NOT NULL,
        observer text NOT NULL,
        action_index integer NOT NULL,
        action jsonb NOT NULL,
        error text NOT NULL,
        attempts integer NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS idx_observer_dlq_observer ON observer_dlq (group_name, observer, id);
      CREATE TABLE IF NOT EXISTS observer_executions (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL,
        observer text NOT NULL,
        action_index integer NOT NULL,
        action_type text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL,
        duration_ms double precision NOT NULL,
        error text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS idx_observer_executions_event ON observer_executions (event_id);
      CREATE INDEX IF NOT EXISTS idx_observer_executions_created ON observer_executions (created_at);
    `,
  },
];

function eventJson(e: EntityEvent): string {
  return JSON.stringify({ ...e, createdAt: e.createdAt.toISOString() });
}

function parseEvent(raw: unknown): EntityEvent {
  const e = (typeof raw === 'string' ? JSON.parse(raw) : raw) as EntityEvent & { createdAt: string };
  return { ...e, createdAt: new Date(e.createdAt) };
}

type DlqRow = {
  id: string | number;
  event_id: string | number;
  observer: string;
  action_index: number;
  action: ActionDefinition;
  error: string;
  attempts: number;
  event: unknown;
  created_at: Date;
};

function dlqEntry(r: DlqRow): DlqEntry {
  return {
    id: String(r.id),
    eventId: String(r.event_id),
    observer: r.observer,
    actionIndex: r.action_index,
    action: r.action,
    error: r.error,
    attempts: r.attempts,
    event: parseEvent(r.event),
    createdAt: r.created_at,
  };
}

const ID = /^[0-9]{1,19}$/;

/** The runtime's tables: checkpoint and leadership (fenced by epoch), listeners, DLQ, executions. */
export class ObserverStore {
  private readonly t: Record<'checkpoints' | 'listeners' | 'dlq' | 'executions', string>;

  constructor(
    private readonly sql: SqlClient,
    private readonly schema: string,
    private readonly group: string,
  ) {
    this.t = {
      checkpoints: qualifiedName(schema, 'observer_checkpoints'),
      listeners: qualifiedName(schema, 'observer_listeners'),
      dlq: qualifiedName(schema, 'observer_dlq'),
      executions: qualifiedName(schema, 'observer_executions'),
    };
  }

  async migrate(): Promise<void> {
    await migrate(this.sql, { schema: this.schema, namespace: 'observers', steps: STEPS });
    await this.sql.query(
      `INSERT INTO ${this.t.checkpoints} (listener_id) VALUES ($1) ON CONFLICT (listener_id) DO NOTHING`,
      [this.group],
    );
  }

  async cursor(): Promise<Cursor> {
    const { rows } = await this.sql.query<{
      snapshot_lo: string | null;
      snapshot_hi: string | null;
      window_last_id: string | number;
      event_id: string | number;
    }>(
      `SELECT snapshot_lo, snapshot_hi, window_last_id, event_id FROM ${this.t.checkpoints} WHERE listener_id = $1`,
      [this.group],
    );
    const r = rows[0];
    return {
      lo: r?.snapshot_lo ?? null,
      hi: r?.snapshot_hi ?? null,
      lastId: String(r?.window_last_id ?? 0),
      eventId: String(r?.event_id ?? 0),
    };
  }

  /** Saves the cursor; false when `epoch` is no longer the group's (a newer leader took over). */
  async saveCursor(cursor: Cursor, epoch: number): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `UPDATE ${this.t.checkpoints}
          SET snapshot_lo = $2, snapshot_hi = $3, window_last_id = $4, event_id = greatest(event_id, $5::bigint),
              last_processed_at = now(), updated_at = now()
        WHERE listener_id = $1 AND epoch = $6`,
      [this.group, cursor.lo, cursor.hi, cursor.lastId, cursor.eventId, epoch],
      { prepare: true },
    );
    return rowCount === 1;
  }

  /**
   * Takes leadership when nobody holds it or the holder's heartbeat is older than `thresholdMs`.
   * Returns the new epoch (and who held it before), or null when another listener leads.
   */
  async acquire(listenerId: string, thresholdMs: number): Promise<Leadership | null> {
    return this.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ leader_id: string | null; stale: boolean; epoch: string | number }>(
        `SELECT leader_id, (leader_heartbeat_at IS NULL OR leader_heartbeat_at < now() - $2 * interval '1 millisecond') AS stale, epoch
           FROM ${this.t.checkpoints} WHERE listener_id = $1 FOR UPDATE`,
        [this.group, thresholdMs],
      );
      const row = rows[0];
      if (!row) return null;
      if (row.leader_id !== null && row.leader_id !== listenerId && !row.stale) return null;
      const epoch = Number(row.epoch) + 1;
      await tx.query(
        `UPDATE ${this.t.checkpoints} SET leader_id = $2, epoch = $3, leader_heartbeat_at = now() WHERE listener_id = $1`,
        [this.group, listenerId, epoch],
      );
      return { epoch, previous: row.leader_id };
    });
  }

  /** Renews the lease; false when it was lost. */
  async renew(listenerId: string, epoch: number): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `UPDATE ${this.t.checkpoints} SET leader_heartbeat_at = now() WHERE listener_id = $1 AND leader_id = $2 AND epoch = $3`,
      [this.group, listenerId, epoch],
    );
    return rowCount === 1;
  }

  async release(listenerId: string, epoch: number): Promise<void> {
    await this.sql.query(
      `UPDATE ${this.t.checkpoints} SET leader_id = NULL, leader_heartbeat_at = NULL WHERE listener_id = $1 AND leader_id = $2 AND epoch = $3`,
      [this.group, listenerId, epoch],
    );
  }

  async leader(): Promise<{ leader: string | null; epoch: number; eventId: string | null; stale: boolean }> {
    const { rows } = await this.sql.query<{
      leader_id: string | null;
      epoch: string | number;
      event_id: string | number;
      stale: boolean;
    }>(
      `SELECT leader_id, epoch, event_id, (leader_heartbeat_at IS NULL OR leader_heartbeat_at < now() - interval '1 day') AS stale
         FROM ${this.t.checkpoints} WHERE listener_id = $1`,
      [this.group],
    );
    const r = rows[0];
    return {
      leader: r?.leader_id ?? null,
      epoch: Number(r?.epoch ?? 0),
      eventId: r ? String(r.event_id) : null,
      stale: r?.stale ?? true,
    };
  }

  async heartbeat(info: Omit<ListenerInfo, 'healthy' | 'lastHeartbeatAt'>): Promise<void> {
    await this.sql.query(
      `INSERT INTO ${this.t.listeners} (listener_id, group_name, role, hostname, pid) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (listener_id) DO UPDATE SET group_name = $2, role = $3, hostname = $4, pid = $5, last_heartbeat_at = now()`,
      [info.listenerId, this.group, info.role, info.hostname, info.pid],
    );
  }

  async forgetListener(listenerId: string): Promise<void> {
    await this.sql.query(`DELETE FROM ${this.t.listeners} WHERE listener_id = $1`, [listenerId]);
  }

  async listeners(thresholdMs: number): Promise<ListenerInfo[]> {
    const { rows } = await this.sql.query<{
      listener_id: string;
      role: string;
      hostname: string;
      pid: number;
      last_heartbeat_at: Date;
      healthy: boolean;
    }>(
      `SELECT listener_id, role, hostname, pid, last_heartbeat_at,
              last_heartbeat_at >= now() - $2 * interval '1 millisecond' AS healthy
         FROM ${this.t.listeners} WHERE group_name = $1 ORDER BY listener_id`,
      [this.group, thresholdMs],
    );
    return rows.map((r) => ({
      listenerId: r.listener_id,
      role: r.role,
      healthy: r.healthy,
      lastHeartbeatAt: r.last_heartbeat_at,
      hostname: r.hostname,
      pid: r.pid,
    }));
  }

  async addDlq(e: DlqInput): Promise<void> {
    await this.sql.query(
      `INSERT INTO ${this.t.dlq} (group_name, event_id, observer, action_index, action, error, attempts, event)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::jsonb)`,
      [
        this.group,
        e.event.id,
        e.observer,
        e.index,
        JSON.stringify(e.action),
        e.error.slice(0, 4000),
        e.attempts,
        eventJson(e.event),
      ],
    );
  }

  async listDlq(opts: { limit?: number; offset?: number; observer?: string } = {}): Promise<DlqEntry[]> {
    const limit = opts.limit ?? 100;
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `dlq.list: limit must be an integer from 1 to 10000, got ${limit}`,
        'limit',
      );
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw observersError(
        ErrorCode.InvalidConfiguration,
        `dlq.list: offset must be a non-negative integer, got ${offset}`,
        'offset',
      );
    const { rows } = await this.sql.query<DlqRow>(
      `SELECT id, event_id, observer, action_index, action, error, attempts, event, created_at FROM ${this.t.dlq}
        WHERE group_name = $1 AND ($2::text IS NULL OR observer = $2) ORDER BY id LIMIT $3 OFFSET $4`,
      [this.group, opts.observer ?? null, limit, offset],
    );
    return rows.map(dlqEntry);
  }

  async getDlq(id: string): Promise<DlqEntry | null> {
    if (typeof id !== 'string' || !ID.test(id)) return null;
    const { rows } = await this.sql.query<DlqRow>(
      `SELECT id, event_id, observer, action_index, action, error, attempts, event, created_at FROM ${this.t.dlq} WHERE group_name = $1 AND id = $2`,
      [this.group, id],
    );
    return rows[0] ? dlqEntry(rows[0]) : null;
  }

  async deleteDlq(id: string): Promise<boolean> {
    if (typeof id !== 'string' || !ID.test(id)) return false;
    const { rowCount } = await this.sql.query(`DELETE FROM ${this.t.dlq} WHERE group_name = $1 AND id = $2`, [
      this.group,
      id,
    ]);
    return rowCount === 1;
  }

  async bumpDlq(id: string, error: string, attempts: number): Promise<void> {
    await this.sql.query(
      `UPDATE ${this.t.dlq} SET error = $3, attempts = attempts + $4 WHERE group_name = $1 AND id = $2`,
      [this.group, id, error.slice(0, 4000), attempts],
    );
  }

  async dlqSize(): Promise<number> {
    const { rows } = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.t.dlq} WHERE group_name = $1`,
      [this.group],
    );
    return rows[0]?.n ?? 0;
  }

  async recordExecutions(records: Omit<ExecutionRecord, 'createdAt'>[]): Promise<void> {
    if (records.length === 0) return;
    await this.sql.query(
      `INSERT INTO ${this.t.executions} (event_id, observer, action_index, action_type, status, attempts, duration_ms, error)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::float8[], $8::text[])`,
      [
        records.map((r) => r.eventId),
        records.map((r) => r.observer),
        records.map((r) => r.actionIndex),
        records.map((r) => r.actionType),
        records.map((r) => r.status),
        records.map((r) => r.attempts),
        records.map((r) => r.durationMs),
        records.map((r) => r.error),
      ],
      { prepare: true },
    );
  }

  async executions(eventId: string): Promise<ExecutionRecord[]> {
    if (typeof eventId !== 'string' || !ID.test(eventId)) return [];
    const { rows } = await this.sql.query<{
      event_id: string | number;
      observer: string;
      action_index: number;
      action_type: string;
      status: ExecutionRecord['status'];
      attempts: number;
      duration_ms: number;
      error: string | null;
      created_at: Date;
    }>(
      `SELECT event_id, observer, action_index, action_type, status, attempts, duration_ms, error, created_at
         FROM ${this.t.executions} WHERE event_id = $1 ORDER BY id`,
      [eventId],
    );
    return rows.map((r) => ({
      eventId: String(r.event_id),
      observer: r.observer,
      actionIndex: r.action_index,
      actionType: r.action_type,
      status: r.status,
      attempts: r.attempts,
      durationMs: r.duration_ms,
      error: r.error,
      createdAt: r.created_at,
    }));
  }

  async prune(retentionDays: number): Promise<void> {
    await this.sql.query(
      `DELETE FROM ${this.t.executions} WHERE created_at < now() - $1 * interval '1 day'`,
      [retentionDays],
    );
  }
}
