import { checkService, sleep, uniqueName, waitFor } from '@fraiseql/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Child, spawnWorker, Tracker } from './helpers';

// Child workers import the built package (test/fixtures/worker.mjs → dist): turbo builds first.
const service = await checkService('rabbitmq');
const tracker = new Tracker(service.url);
const children: Child[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});
afterAll(() => tracker.cleanup(), 60_000);

function worker(queue: string, concurrency = 1): Child {
  const c = spawnWorker({
    AMQP_URL: service.url,
    QUEUE: queue,
    PREFIX: tracker.prefix,
    CONCURRENCY: String(concurrency),
    CONN_NAME: `${uniqueName('child')} fraiseql-test`,
  });
  children.push(c);
  return c;
}

const started = (id: string) => (line: string) => line.startsWith(`start ${id} `);

describe.skipIf(!service.available)('rabbitmq across processes', () => {
  it('kill -9 mid-handler: the job is delivered again to another worker, with its data', async () => {
    const p = await tracker.create();
    const q = uniqueName('kill');
    const id = await p.enqueue(q, { holdOnFirst: true, payload: { to: 'a@example.com', n: [1, 2] } });
    const a = worker(q);
    const first = await a.waitLine(started(id), 20_000, 'the job to start in worker A');
    expect(first).toContain(' 1 ');
    const b = worker(q);
    await b.waitLine((l) => l === 'ready', 20_000, 'worker B to consume');
    a.kill();
    await a.exited;
    const again = await b.waitLine(started(id), 20_000, 'the job to be redelivered to worker B');
    const [, , attempts, data] = again.match(/^start (\S+) (\d+) (.*)$/)!;
    // The lost run counts: attempts 2 (the approximation: a delivery lost with its worker is a run).
    expect(Number(attempts)).toBe(2);
    expect(JSON.parse(data!)).toEqual({ holdOnFirst: true, payload: { to: 'a@example.com', n: [1, 2] } });
    await b.waitLine((l) => l === `done ${id}`, 20_000, 'worker B to complete it');
    await waitFor(async () => (await p.queueLength(q)) === 0, 10_000, 'the queue to drain');
    expect(await p.failedCount(q)).toBe(0);
  }, 60_000);

  it('a job that kills its worker every time ends in the dead-letter queue instead of looping', async () => {
    const p = await tracker.create();
    const q = uniqueName('poison');
    const id = await p.enqueue(q, { die: true }, { maxRetries: 0 });
    const ok = await p.enqueue(q, { ms: 1 });
    // maxRetries 0: lost once → run again; lost twice → failed. Each run kills its worker.
    const spawned: Child[] = [];
    const isFailed = async () => (await p.failedCount(q)) === 1;
    while (!(await isFailed()) && spawned.length < 4) {
      const w = worker(q);
      spawned.push(w);
      let exited = false;
      void w.exited.then(() => {
        exited = true;
      });
      await waitFor(async () => exited || (await isFailed()), 20_000, 'the worker to die or fail the job');
    }
    expect(await isFailed()).toBe(true);
    // Two runs, two dead workers; the third worker failed the job without running it.
    expect(spawned.filter((c) => c.child.signalCode === 'SIGKILL').length).toBe(2);
    const [dead] = await p.peekFailed(q);
    expect(dead).toMatchObject({ id, data: { die: true }, attempts: 2 });
    expect(dead!.lastError).toMatch(/lost with its worker 2 times/);
    // The other job was not held up: the surviving worker (or one before it) ran it.
    await waitFor(
      () => spawned.some((c) => c.lines.includes(`done ${ok}`)),
      20_000,
      'the healthy job to run',
    );
  }, 60_000);

  it('1,000 jobs with workers killed at random: every job is processed at least once', async () => {
    const p = await tracker.create();
    const q = uniqueName('thousand');
    const pool = [worker(q, 5), worker(q, 5), worker(q, 5)];
    await Promise.all(pool.map((c) => c.waitLine((l) => l === 'ready', 20_000, 'a worker to start')));
    const ids = await p.enqueueMany(
      q,
      Array.from({ length: 1000 }, (_, i) => ({ data: { i, ms: 30 + (i % 41) } })),
    );
    const all = () => children.flatMap((c) => c.lines);
    const doneIds = () =>
      new Set(
        all()
          .filter((l) => l.startsWith('done '))
          .map((l) => l.slice(5)),
      );
    let kills = 0;
    const deadline = Date.now() + 45_000;
    while (doneIds().size < 1000 && Date.now() < deadline) {
      await sleep(400);
      // Five kills spread over the run, each with jobs in flight (15 slots, 30-70 ms jobs).
      if (kills < 5 && doneIds().size > 60 * (kills + 1)) {
        const victim = pool.splice(Math.floor(Math.random() * pool.length), 1)[0]!;
        victim.kill();
        kills++;
        pool.push(worker(q, 5));
      }
    }
    const done = doneIds();
    const missing = ids.filter((id) => !done.has(id));
    expect(missing, `${missing.length} jobs never completed`).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(3);
    // Kills hit running handlers: some jobs were redelivered (their lost run counted in attempts).
    expect(all().some((l) => /^start \S+ [2-9] /.test(l))).toBe(true);
    await waitFor(async () => (await p.queueLength(q)) === 0, 10_000, 'the queue to drain');
    expect(await p.failedCount(q)).toBe(0);
  }, 90_000);

  it('pause stops workers in two other processes and one started while paused; resume restarts them', async () => {
    const admin = await tracker.create();
    const observer = await tracker.create();
    const q = uniqueName('pausex');
    const a = worker(q);
    const b = worker(q);
    await Promise.all([a, b].map((c) => c.waitLine((l) => l === 'ready', 20_000, 'a worker to consume')));
    await admin.pause(q);
    await Promise.all([a, b].map((c) => c.waitLine((l) => l === 'paused', 10_000, 'a worker to pause')));
    expect(await observer.isPaused(q)).toBe(true);
    const ids = await admin.enqueueMany(
      q,
      Array.from({ length: 4 }, (_, i) => ({ data: { i } })),
    );
    // A worker started while the queue is paused reads the flag before it consumes.
    const c = worker(q);
    await c.waitLine((l) => l === 'paused', 20_000, 'a late worker to start paused');
    await sleep(500);
    for (const w of [a, b, c]) expect(w.lines.filter((l) => l.startsWith('start '))).toEqual([]);
    expect(await observer.queueLength(q)).toBe(4);

    await observer.resume(q);
    expect(await admin.isPaused(q)).toBe(false);
    const done = () => new Set([a, b, c].flatMap((w) => w.lines.filter((l) => l.startsWith('done '))));
    await waitFor(() => done().size === 4, 20_000, 'the four jobs after resume');
    expect([...done()].map((l) => l.slice(5)).sort()).toEqual([...ids].sort());
  }, 60_000);
});
