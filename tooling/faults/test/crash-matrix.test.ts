import { sleep, uniqueName } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildEvent, FixtureChild, killAllChildren } from './support/children';
import {
  openQueueBackend,
  QUEUE_BACKENDS,
  type QueueBackend,
  type QueueBackendName,
  serviceFor,
} from './support/queues';
import { record, SOAK } from './support/results';
import { quantile, round } from './support/stats';

/**
 * Scenario 1 — crash matrix. For every queue backend: N jobs, worker processes SIGKILLed at
 * random moments and replaced. Figures: jobs lost (must be 0), jobs that ran more than once,
 * and how long the jobs a killed worker held took to complete elsewhere.
 */

interface Plan {
  jobs: number;
  workers: number;
  concurrency: number;
  kills: number;
  /** Pause between kills: a random time in [min, max] ms. */
  killEvery: [number, number];
  /** Lease (visibility timeout) of the workers. */
  lease: number;
  /** Handler time: a random time in [min, max] ms. */
  work: [number, number];
  deadlineMs: number;
}

const scale = SOAK ? 5 : 1;
const PLANS: Record<QueueBackendName, Plan> = {
  postgresql: {
    jobs: 2000 * scale,
    workers: 3,
    concurrency: 8,
    kills: 6 * scale,
    killEvery: [400, 900],
    lease: 1500,
    work: [40, 120],
    deadlineMs: 90_000 * scale,
  },
  // One process at a time may open a PGlite directory: every kill stops all work until the
  // replacement has opened the database again, so fewer jobs and kills fit the same time.
  pglite: {
    jobs: 1500 * scale,
    workers: 1,
    concurrency: 8,
    kills: 3 * scale,
    killEvery: [1000, 2000],
    lease: 1000,
    work: [20, 60],
    deadlineMs: 120_000 * scale,
  },
  redis: {
    jobs: 2000 * scale,
    workers: 3,
    concurrency: 8,
    kills: 6 * scale,
    killEvery: [400, 900],
    lease: 2000,
    work: [40, 120],
    deadlineMs: 90_000 * scale,
  },
  rabbitmq: {
    jobs: 2000 * scale,
    workers: 3,
    concurrency: 8,
    kills: 6 * scale,
    killEvery: [400, 900],
    lease: 2000,
    work: [40, 120],
    deadlineMs: 90_000 * scale,
  },
};

const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);

afterAll(killAllChildren);

for (const name of QUEUE_BACKENDS) {
  const service = await serviceFor(name);
  describe.skipIf(service !== undefined && !service.available)(`crash matrix: ${name}`, () => {
    let backend: QueueBackend | undefined;
    afterAll(async () => {
      await killAllChildren();
      await backend?.close();
    }, 60_000);

    it(
      `loses no job while workers are SIGKILLed at random (${name})`,
      async () => {
        const plan = PLANS[name];
        backend = await openQueueBackend(name, { lease: plan.lease, ...(service ? { service } : {}) });
        const queue = uniqueName('crash');
        const ids = await backend.enqueue(queue, plan.jobs);
        const idSet = new Set(ids);

        const starts = new Map<string, number>();
        const done = new Set<string>();
        const doneAt = new Map<string, number>();
        const errors: ChildEvent[] = [];
        const onEvent = (e: ChildEvent) => {
          if (e.ev === 'start') starts.set(e.id!, (starts.get(e.id!) ?? 0) + 1);
          else if (e.ev === 'done') {
            done.add(e.id!);
            if (!doneAt.has(e.id!)) doneAt.set(e.id!, Date.now());
          } else if (e.ev === 'error') errors.push(e);
        };
        const env = {
          ...backend.childEnv(queue),
          CONCURRENCY: String(plan.concurrency),
          VT_MS: String(plan.lease),
          WORK_MIN_MS: String(plan.work[0]),
          WORK_MAX_MS: String(plan.work[1]),
        };
        const children: FixtureChild[] = [];
        const spawn = () => {
          const c = new FixtureChild('worker.mjs', env, onEvent);
          children.push(c);
          return c;
        };
        for (let i = 0; i < plan.workers; i++) spawn();
        await Promise.all(children.map((c) => c.ready));

        // Each kill: the jobs the victim had started and not finished, and when it died.
        const kills: { at: number; inFlight: string[] }[] = [];
        const started = Date.now();
        const deadline = started + plan.deadlineMs;
        let nextKill = started + between(plan.killEvery);
        while (Date.now() < deadline && done.size < idSet.size) {
          await sleep(50);
          // Kills only while most jobs are still to run, so each one hits a busy worker.
          if (kills.length >= plan.kills || Date.now() < nextKill || done.size > idSet.size * 0.85) continue;
          const alive = children.filter((c) => c.alive);
          const victim = alive[Math.floor(Math.random() * alive.length)];
          if (!victim) continue;
          const at = Date.now();
          await victim.kill('SIGKILL');
          // After the exit every line the victim wrote has been read: what it started and never finished.
          const finished = new Set(victim.events.filter((e) => e.ev === 'done').map((e) => e.id!));
          const inFlight = [
            ...new Set(
              victim.events.filter((e) => e.ev === 'start' && !finished.has(e.id!)).map((e) => e.id!),
            ),
          ];
          kills.push({ at, inFlight });
          spawn();
          nextKill = Date.now() + between(plan.killEvery);
        }
        const elapsedMs = Date.now() - started;
        await Promise.all(children.map((c) => c.stop()));

        const verdict = await backend.verify(queue, ids, done);
        const lost = ids.filter((id) => !verdict.completed.has(id));
        const ranTwice = [...starts.entries()].filter(([id, n]) => idSet.has(id) && n > 1).length;
        // Recovery of one kill: until every job the victim held had completed in another worker.
        const recoveries = kills
          .filter((k) => k.inFlight.length > 0)
          .map((k) => Math.max(...k.inFlight.map((id) => (doneAt.get(id) ?? Number.NaN) - k.at)));
        const recoveredMax = recoveries.length ? Math.max(...recoveries) : 0;
        const recoveredP50 = quantile(recoveries, 0.5);
        const heldByVictims = kills.reduce((n, k) => n + k.inFlight.length, 0);

        record(
          'crash-matrix',
          name,
          {
            jobs: plan.jobs,
            workers: plan.workers,
            concurrency: plan.concurrency,
            leaseMs: plan.lease,
            kills: kills.length,
            jobsHeldByKilledWorkers: heldByVictims,
            lost: lost.length,
            ranMoreThanOnce: ranTwice,
            recoverMaxS: round(recoveredMax / 1000),
            recoverP50S: round(recoveredP50 / 1000),
            pendingAfter: verdict.pending,
            failedAfter: verdict.failed,
            elapsedS: round(elapsedMs / 1000, 1),
            workerErrors: errors.length,
          },
          `${plan.jobs} jobs, ${kills.length} kills (${heldByVictims} jobs in killed workers), lost ${lost.length}, ` +
            `ran twice ${ranTwice}, recovered in ${round(recoveredMax / 1000, 1)} s max ` +
            `(p50 ${round(recoveredP50 / 1000, 1)} s, lease ${plan.lease / 1000} s), all done in ${round(elapsedMs / 1000, 1)} s`,
        );

        expect(kills.length, 'workers were killed while jobs ran').toBeGreaterThan(0);
        expect(heldByVictims, 'the kills hit running jobs').toBeGreaterThan(0);
        expect(lost, 'jobs lost').toEqual([]);
        expect(verdict.failed).toBe(0);
        expect(verdict.pending).toBe(0);
        expect(done.size).toBe(ids.length);
        expect(recoveries.every(Number.isFinite), 'every held job completed after its worker died').toBe(
          true,
        );
      },
      PLANS[name].deadlineMs + 60_000,
    );
  });
}
