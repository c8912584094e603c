import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityEvent } from '../src/types';
import { type Db, executed, openDb, pg, runtimeOn } from './helpers';

describe.skipIf(!pg.available)('no gap loss (two connections, PostgreSQL server)', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb('postgres');
    await db.useFreshLog();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('delivers an event whose transaction commits after a later-numbered one was processed', async () => {
    const seen: EntityEvent[] = [];
    const runtime = await runtimeOn(db, {
      group: 'gaps',
      observers: [{ name: 'o', entity: 'Gap', actions: [{ type: 'rec' }] }],
    });
    runtime.registerAction('rec', async (e) => {
      seen.push(e);
    });
    await runtime.start();
    const table = db.changeLog.replace(/^([^.]+)\.(.+)$/, '"$1"."$2"');
    let releaseEarly!: () => void;
    const earlyMayCommit = new Promise<void>((r) => {
      releaseEarly = r;
    });
    let earlyInserted!: (id: string) => void;
    const earlyId = new Promise<string>((r) => {
      earlyInserted = r;
    });
    // T1 takes the lower id and stays open; T2 takes the next id and commits first.
    const t1 = db.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO ${table} (object_type, object_id, modification_type, object_data) VALUES ('Gap', 'early', 'INSERT', '{}') RETURNING id::text`,
      );
      earlyInserted(rows[0]!.id);
      await earlyMayCommit;
    });
    const lowId = await earlyId;
    const firstDone = executed(runtime, 1);
    const { rows } = await db.sql.query<{ id: string }>(
      `INSERT INTO ${table} (object_type, object_id, modification_type, object_data) VALUES ('Gap', 'late', 'INSERT', '{}') RETURNING id::text`,
    );
    const highId = rows[0]!.id;
    expect(BigInt(highId)).toBeGreaterThan(BigInt(lowId));
    await firstDone;
    expect(seen.map((e) => e.id)).toEqual([highId]);
    const secondDone = executed(runtime, 1);
    releaseEarly();
    await t1;
    await secondDone;
    await runtime.stop();
    expect(seen.map((e) => e.id)).toEqual([highId, lowId]);
  });
});
