import { quoteIdent } from '@fraiseql/postgres';

/** Quoted, validated names of everything the queue keeps in its schema. */
export interface QueueTables {
  schema: string;
  jobs: string;
  queueState: string;
  rateLimits: string;
  /** NOTIFY channel that wakes the workers of this schema; the payload is the queue name. */
  channel: string;
}

export function queueTables(schema: string): QueueTables {
  const s = quoteIdent(schema, 'schema');
  return {
    schema: s,
    jobs: `${s}."jobs"`,
    queueState: `${s}."queue_state"`,
    rateLimits: `${s}."queue_rate_limits"`,
    channel: `fraiseql_jobs_${schema}`.slice(0, 63),
  };
}

/**
 * The schema, as migration steps (applied once each, in order, under an advisory lock).
 *
 * - `seq` gives a strict FIFO order among equal priorities (UUIDs and timestamps do not).
 * - `data` is `json`, not `jsonb`: stored as written (faster to insert, keeps `\u0000`), never queried.
 * - The fetch index is partial on `pending`, so finished jobs cost the hot path nothing.
 * - Dedup is a unique partial index: two concurrent enqueues with one key cannot both insert.
 */
export function queueMigrations(t: QueueTables): { id: string; up: string }[] {
  return [
    {
      id: '001_jobs',
      up: `
CREATE SCHEMA IF NOT EXISTS ${t.schema};
CREATE TABLE IF NOT EXISTS ${t.jobs} (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  queue text NOT NULL,
  data json NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'completed', 'failed')),
  priority integer NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  max_retries integer NOT NULL,
  timeout_ms integer,
  dedup_key text,
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  failed_at timestamptz
);
CREATE INDEX IF NOT EXISTS jobs_fetch_idx ON ${t.jobs} (queue, priority DESC, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_lease_idx ON ${t.jobs} (locked_until) WHERE state = 'running';
CREATE UNIQUE INDEX IF NOT EXISTS jobs_dedup_idx ON ${t.jobs} (queue, dedup_key)
  WHERE dedup_key IS NOT NULL AND state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_finished_idx ON ${t.jobs} (queue, state, seq) WHERE state IN ('completed', 'failed');
CREATE INDEX IF NOT EXISTS jobs_completed_at_idx ON ${t.jobs} (completed_at) WHERE state = 'completed';
CREATE INDEX IF NOT EXISTS jobs_failed_at_idx ON ${t.jobs} (failed_at) WHERE state = 'failed';
CREATE TABLE IF NOT EXISTS ${t.queueState} (
  queue text PRIMARY KEY,
  paused boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${t.rateLimits} (
  queue text NOT NULL,
  window_start bigint NOT NULL,
  taken integer NOT NULL,
  PRIMARY KEY (queue, window_start)
);`,
    },
  ];
}
