import type { JobInfo } from '@fraiseql/core';
import type { SqlClient } from '@fraiseql/postgres';
import type { QueueSuiteContext } from '@fraiseql/testkit';
import { expect, it } from 'vitest';
import { createPostgresQueue, type PostgresQueue } from '../src/index.ts';

export interface Env {
  sql: SqlClient;
  schema: string;
  /** Set for a real server (tests that need a second connection or pg_terminate_backend). */
  server?: string;
}

/** Tests of what only the Postgres engine promises, run on the server and on PGlite alike. */
export function postgresSpecificTests(ctx: QueueSuiteContext, env: () => Env): void {
  it('enqueues inside a caller transaction: nothing when it rolls back, the job when it commits', async () => {
    const q = (await ctx.setup()) as PostgresQueue;
    const { sql } = env();
    const name = ctx.queueName('tx');
    await expect(
      sql.transaction(async (tx) => {
        await q.enqueue(name, { n: 1 }, { client: tx });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await q.queueLength(name)).toBe(0);
    const id = await sql.transaction((tx) => q.enqueue(name, { n: 2 }, { client: tx }));
    expect((await q.getJob(name, id))?.data).toEqual({ n: 2 });
  });

  it('returns an expired lease to pending, counting the attempt, and fails it once retries are spent', async () => {
    const q = (await ctx.setup({ visibilityTimeoutMs: 200 })) as PostgresQueue;
    const { sql, schema } = env();
    const name = ctx.queueName('lease');
    const id = await q.enqueue(name, { n: 1 }, { maxRetries: 1 });
    // A worker that died: the job is running with a lease in the past.
    const expire = `UPDATE "${schema}"."jobs" SET state = 'running', attempts = attempts + 1, locked_by = 'dead', locked_until = now() - interval '1 second' WHERE id = $1`;
    await sql.query(expire, [id]);
    expect((await q.maintain()).recovered).toBeGreaterThanOrEqual(1);
    let info = await q.getJob(name, id);
    expect(info).toMatchObject({ state: 'pending', attempts: 1 });
    expect(info?.lastError).toMatch(/lease expired/);
    await sql.query(expire, [id]);
    await q.maintain();
    info = await q.getJob(name, id);
    expect(info).toMatchObject({ state: 'failed', attempts: 2 });
  });

  it('keeps payloads with NUL characters and unicode intact', async () => {
    const q = await ctx.setup();
    const name = ctx.queueName('nul');
    const data = { s: 'a\u0000b', e: '😀é', nested: [1, { x: null }] };
    const id = await q.enqueue(name, data);
    expect((await q.getJob(name, id))?.data).toEqual(data);
  });

  it('refuses an oversized payload with IN308 before touching the database', async () => {
    const q = await ctx.setup();
    await expect(q.enqueue(ctx.queueName('big'), { s: 'x'.repeat(2 * 1024 * 1024) })).rejects.toMatchObject({
      code: 'IN308',
    });
  });

  it('rejects hostile schema names', async () => {
    const { sql } = env();
    for (const schema of ['a"; DROP TABLE x; --', 'has space', '', 'x'.repeat(64), 'ünï']) {
      await expect(createPostgresQueue({ sql, schema })).rejects.toMatchObject({ code: 'IN002' });
    }
  });

  it('prunes finished jobs past their retention, in bounded batches', async () => {
    const q = (await ctx.setup()) as PostgresQueue;
    const { sql, schema } = env();
    const name = ctx.queueName('prune');
    const ids = await q.enqueueMany(
      name,
      Array.from({ length: 5 }, (_, i) => ({ data: { i } })),
    );
    await sql.query(
      `UPDATE "${schema}"."jobs" SET state = 'completed', completed_at = now() - interval '2 days' WHERE id IN (SELECT value::uuid FROM json_array_elements_text($1::json))`,
      [JSON.stringify(ids.slice(0, 3))],
    );
    const { pruned } = await q.maintain();
    expect(pruned).toBeGreaterThanOrEqual(3);
    expect(await q.getJob(name, ids[0]!)).toBeNull();
    expect(await q.getJob(name, ids[4]!)).not.toBeNull();
  });

  it('starts no more jobs per window than the rate limit allows', async () => {
    const name = ctx.queueName('rate');
    const q = await ctx.setup({ queues: { [name]: { rateLimit: { max: 3, perSeconds: 1 } } } });
    await q.enqueueMany(
      name,
      Array.from({ length: 8 }, (_, i) => ({ data: { i } })),
    );
    const starts: number[] = [];
    ctx.track(
      q.process(
        name,
        async () => {
          starts.push(Date.now());
        },
        { concurrency: 4 },
      ),
    );
    await ctx.waitFor(() => starts.length >= 4, 'jobs past the first window');
    // Bucket the starts by 1-second window: no window ever has more than 3.
    const perWindow = new Map<number, number>();
    for (const s of starts)
      perWindow.set(Math.floor(s / 1000), (perWindow.get(Math.floor(s / 1000)) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(3);
  });

  it("emits 'stalled' with the job id when the lease sweep takes back a dead worker's job, which then runs", async () => {
    const q = (await ctx.setup({ visibilityTimeoutMs: 200 })) as PostgresQueue;
    const { sql, schema } = env();
    const name = ctx.queueName('stalled');
    const id = await q.enqueue(name, { n: 1 });
    // Claimed by a worker that died holding it: running, attempt counted, its lease in the past.
    await sql.query(
      `UPDATE "${schema}"."jobs" SET state = 'running', attempts = attempts + 1, locked_by = 'dead', locked_until = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const stalled: string[] = [];
    const ran: string[] = [];
    const completed: JobInfo[] = [];
    const worker = ctx.track(
      q.process(name, async (job) => {
        ran.push(job.id);
      }),
    );
    worker.on('stalled', (jobId) => stalled.push(jobId));
    worker.on('completed', (job) => completed.push(job));
    await ctx.waitFor(() => completed.length > 0, "the stalled job's run");
    expect(stalled).toEqual([id]);
    expect(ran).toEqual([id]);
    expect(completed[0]).toMatchObject({ id, queue: name, state: 'completed', attempts: 2, data: { n: 1 } });
    expect(completed[0]!.completedAt).toBeInstanceOf(Date);
    expect(completed[0]!.runAt).toBeInstanceOf(Date);
    expect(completed[0]).not.toHaveProperty('signal');
  });

  it("passes the contract's JobInfo to 'failed' and 'retrying', like the other backends", async () => {
    const q = await ctx.setup({ queueDefaults: { retryDelayMs: 10 } });
    const name = ctx.queueName('shape');
    const id = await q.enqueue(name, { n: 1 }, { maxRetries: 1 });
    const retrying: [JobInfo, Error, number][] = [];
    const failed: [JobInfo, Error][] = [];
    const worker = ctx.track(
      q.process(name, async () => {
        throw new Error('boom');
      }),
    );
    worker.on('retrying', (job, err, delayMs) => retrying.push([job, err, delayMs]));
    worker.on('failed', (job, err) => failed.push([job, err]));
    await ctx.waitFor(() => failed.length > 0, 'the job to fail for good');
    expect(retrying).toHaveLength(1);
    const [retried, retryErr, delayMs] = retrying[0]!;
    expect(retried).toMatchObject({
      id,
      state: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/boom/),
    });
    expect(retried).not.toHaveProperty('signal');
    expect(retried.runAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(retryErr.message).toMatch(/boom/);
    expect(delayMs).toBeGreaterThanOrEqual(0);
    const [info, err] = failed[0]!;
    expect(info).toMatchObject({ id, queue: name, state: 'failed', attempts: 2, data: { n: 1 } });
    expect(info.failedAt).toBeInstanceOf(Date);
    expect(info).not.toHaveProperty('signal');
    expect(err.message).toMatch(/boom/);
  });
  it('an idle worker with free slots takes each job once: no re-take or due-time query per finished job', async () => {
    const { sql, schema } = env();
    let takes = 0;
    let dueQueries = 0;
    // Counts the worker's statements by their text: the take and the next-due-time query.
    const counting = new Proxy(sql, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        // Called on the client itself: it keeps its state in private fields.
        if (prop !== 'query') return value.bind(target);
        return (text: string, ...rest: unknown[]) => {
          if (text.includes('FOR UPDATE SKIP LOCKED')) takes++;
          if (text.includes('min(run_at)')) dueQueries++;
          return value.call(target, text, ...rest);
        };
      },
    }) as SqlClient;
    const q = await createPostgresQueue({ sql: counting, schema });
    const name = ctx.queueName('idle');
    const started: string[] = [];
    const worker = q.process(name, async (job) => void started.push(job.id), { concurrency: 4 });
    try {
      await ctx.waitFor(() => takes > 0, 'the first take');
      const jobs = 12;
      const before = { takes, dueQueries };
      for (let i = 0; i < jobs; i++) {
        const id = await q.enqueue(name, { i });
        await ctx.waitFor(() => started.includes(id), `job ${i} to start`);
      }
      // One take per NOTIFY, give or take one that races a wake-up; it was three takes and two
      // due-time queries per job when every finished job woke the worker.
      expect(takes - before.takes).toBeLessThanOrEqual(jobs * 1.5 + 2);
      expect(dueQueries - before.dueQueries).toBeLessThanOrEqual(jobs / 2 + 2);
    } finally {
      await worker.close();
      await q.close();
    }
  });
}
