import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from '@fraiseql/postgres';
import { ensureChangeLog } from '../src/index';

const LISTENER = fileURLToPath(new URL('./fixtures/listener.mjs', import.meta.url));

export interface ListenerProcess {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  /** Everything it printed so far. */
  output(): string;
}

/** A listener process (fixtures/listener.mjs): prints `ready`, records deliveries, SIGTERM stops it cleanly. */
export function spawnListener(env: Record<string, string>): ListenerProcess {
  const proc = spawn(process.execPath, [LISTENER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += String(d);
  });
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', () => {
      if (out.includes('ready')) resolve();
    });
    proc.once('exit', (code, signal) =>
      reject(new Error(`listener exited before ready (${code ?? signal}): ${out}`)),
    );
  });
  ready.catch(() => undefined);
  return { proc, ready, exited, output: () => out };
}

/** A schema with a change log and the `deliveries` table the fixture writes. */
export async function crashSchema(sql: SqlClient, schema: string): Promise<void> {
  await ensureChangeLog(sql, { table: `${schema}.tb_entity_change_log` });
  await sql.exec(
    `CREATE TABLE "${schema}".deliveries (id bigserial PRIMARY KEY, event_id bigint NOT NULL, phase text NOT NULL)`,
  );
}

/** Inserts `count` Crash events in statements of 20, `pauseMs` apart. */
export async function produce(
  sql: SqlClient,
  schema: string,
  count: number,
  pauseMs: number,
  from = 0,
): Promise<void> {
  for (let i = from; i < from + count; i += 20) {
    const rows = Array.from(
      { length: Math.min(20, from + count - i) },
      (_, j) => `('Crash', '${i + j}', 'INSERT', '{"n": ${i + j}}')`,
    ).join(',');
    await sql.exec(
      `INSERT INTO "${schema}".tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ${rows}`,
    );
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Events with no completed delivery, and completed actions that ran again. */
export async function deliveryCounts(
  sql: SqlClient,
  schema: string,
): Promise<{ lost: number; reruns: number }> {
  const d = `"${schema}".deliveries`;
  const { rows } = await sql.query<{ lost: number; reruns: number }>(
    `SELECT (SELECT count(*)::int FROM "${schema}".tb_entity_change_log l
              WHERE NOT EXISTS (SELECT 1 FROM ${d} x WHERE x.event_id = l.id AND x.phase = 'done')) AS lost,
            (SELECT count(*)::int FROM ${d} s
              WHERE s.phase = 'start' AND EXISTS (SELECT 1 FROM ${d} x WHERE x.event_id = s.event_id AND x.phase = 'done' AND x.id < s.id)) AS reruns`,
  );
  return rows[0]!;
}

export async function leaderOf(
  sql: SqlClient,
  schema: string,
  group: string,
): Promise<{ leader: string | null; epoch: number; eventId: string }> {
  const { rows } = await sql.query<{ leader_id: string | null; epoch: string; event_id: string }>(
    `SELECT leader_id, epoch::text, event_id::text FROM "${schema}".observer_checkpoints WHERE listener_id = $1`,
    [group],
  );
  return {
    leader: rows[0]?.leader_id ?? null,
    epoch: Number(rows[0]?.epoch ?? 0),
    eventId: rows[0]?.event_id ?? '0',
  };
}
