import { parseQualifiedName, qualifiedName, type SqlExecutor } from '@fraiseql/postgres';
import { parseKind } from './definitions';
import type { Cursor } from './store';
import type { EntityEvent } from './types';

type Row = {
  id: string | number;
  object_type: string;
  object_id: string;
  modification_type: string;
  object_data: unknown;
  created_at: Date;
};

export interface Batch {
  events: EntityEvent[];
  /** The cursor once these events are done. */
  next: Cursor;
}

/**
 * Reads the change log without gap loss. bigserial ids are taken at INSERT, not at COMMIT, so
 * "id > checkpoint" would skip an event whose transaction commits after a later id was read.
 * Instead the reader works in snapshot windows (PgQ's ticks): it takes `pg_current_snapshot()` as
 * `hi` and reads, in id order, the rows whose writing transaction (`txid`) is visible in `hi` but
 * was not in the previous window's `lo`. A transaction still running at `hi` is simply in the next
 * window, however old its ids.
 */
export class ChangeLogReader {
  private readonly table: string;

  constructor(
    private readonly sql: SqlExecutor,
    changeLog: string,
    private readonly source: string,
  ) {
    const { schema, table } = parseQualifiedName(changeLog, 'public', 'changeLog');
    this.table = qualifiedName(schema, table);
  }

  toEvent(r: Row): EntityEvent {
    return {
      id: String(r.id),
      source: this.source,
      entity: r.object_type,
      entityId: r.object_id,
      // The seed's table takes any text; an unknown kind still flows (as UPDATE) rather than stalling the log.
      kind: parseKind(r.modification_type) ?? 'UPDATE',
      data: r.object_data,
      createdAt: r.created_at,
    };
  }

  async read(cursor: Cursor, limit: number): Promise<Batch> {
    let hi = cursor.hi;
    if (hi === null) {
      const { rows } = await this.sql.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
      hi = rows[0]?.s as string;
    }
    const { rows } = cursor.lo
      ? await this.sql.query<Row>(
          `SELECT id, object_type, object_id, modification_type, object_data, created_at FROM ${this.table}
            WHERE txid >= pg_snapshot_xmin($1::pg_snapshot)
              AND NOT pg_visible_in_snapshot(txid, $1::pg_snapshot)
              AND pg_visible_in_snapshot(txid, $2::pg_snapshot)
              AND id > $3
            ORDER BY id LIMIT $4`,
          [cursor.lo, hi, cursor.lastId, limit],
          { prepare: true },
        )
      : await this.sql.query<Row>(
          `SELECT id, object_type, object_id, modification_type, object_data, created_at FROM ${this.table}
            WHERE pg_visible_in_snapshot(txid, $1::pg_snapshot) AND id > $2
            ORDER BY id LIMIT $3`,
          [hi, cursor.lastId, limit],
          { prepare: true },
        );
    const events = rows.map((r) => this.toEvent(r));
    const last = events.at(-1)?.id;
    const eventId = last && BigInt(last) > BigInt(cursor.eventId) ? last : cursor.eventId;
    const next: Cursor =
      rows.length < limit
        ? { lo: hi, hi: null, lastId: '0', eventId }
        : { lo: cursor.lo, hi, lastId: last ?? cursor.lastId, eventId };
    return { events, next };
  }

  /** Rows above the checkpoint's highest id: how far behind the group is (an estimate under gaps). */
  async behind(eventId: string): Promise<number> {
    const { rows } = await this.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.table} WHERE id > $1`,
      [eventId],
    );
    return rows[0]?.n ?? 0;
  }

  async byId(id: string): Promise<EntityEvent | null> {
    if (!/^[0-9]{1,19}$/.test(id)) return null;
    const { rows } = await this.sql.query<Row>(
      `SELECT id, object_type, object_id, modification_type, object_data, created_at FROM ${this.table} WHERE id = $1`,
      [id],
    );
    return rows[0] ? this.toEvent(rows[0]) : null;
  }

  async recent(opts: { entity?: string; kind?: string; limit: number }): Promise<EntityEvent[]> {
    const { rows } = await this.sql.query<Row>(
      `SELECT id, object_type, object_id, modification_type, object_data, created_at FROM ${this.table}
        WHERE ($1::text IS NULL OR object_type = $1) AND ($2::text IS NULL OR modification_type = $2)
        ORDER BY id DESC LIMIT $3`,
      [opts.entity ?? null, opts.kind ?? null, opts.limit],
    );
    return rows.map((r) => this.toEvent(r));
  }
}
