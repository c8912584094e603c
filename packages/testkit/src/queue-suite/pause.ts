import { expect, it } from 'vitest';
import { sleep } from '../queue-helpers';
import { expectUnsupported, type SuiteContext } from './context';

/** Pausing and resuming a queue. */
export function pauseTests(ctx: SuiteContext): void {
  const { setup, queueName, ms, work, hasId, gate, waitFor: until } = ctx;

  it('pause stops delivery on that queue only; enqueue still works; resume restarts it', async () => {
    const p = await setup();
    const q = queueName();
    if (!p.capabilities.pause) {
      await expectUnsupported(() => p.pause(q), 'pause');
      await expectUnsupported(() => p.resume(q), 'resume');
      await expectUnsupported(() => p.isPaused(q), 'isPaused');
      return;
    }
    const other = queueName();
    const rec = work(p, q);
    expect(await p.isPaused(q)).toBe(false);
    await p.pause(q);
    expect(await p.isPaused(q)).toBe(true);
    expect(await p.isPaused(other)).toBe(false);
    const id = await p.enqueue(q, { n: 1 });
    // A worker started while paused must honour the pause as well.
    const late = work(p, q);
    const otherRec = work(p, other);
    const otherId = await p.enqueue(other, { n: 2 });
    await until(() => hasId(otherRec.completed, otherId), 'a job of an unpaused queue to complete');
    await sleep(ms(250));
    expect(rec.runs).toEqual([]);
    expect(late.runs).toEqual([]);
    expect(await p.queueLength(q)).toBe(1);
    await p.resume(q);
    expect(await p.isPaused(q)).toBe(false);
    await until(() => hasId(rec.completed, id) || hasId(late.completed, id), 'the job to run after resume');
  });

  it('pause lets running jobs finish', async () => {
    const p = await setup();
    const q = queueName();
    if (!p.capabilities.pause) {
      await expectUnsupported(() => p.pause(q), 'pause');
      return;
    }
    const g = gate();
    const rec = work(p, q, async (job) => {
      if (job.data.n === 1) await g.wait(job);
    });
    const first = await p.enqueue(q, { n: 1 });
    await until(() => rec.runs.length === 1, 'the job to start');
    await p.pause(q);
    g.open();
    await until(() => hasId(rec.completed, first), 'the running job to complete while paused');
    expect(rec.runs[0]!.signal.aborted).toBe(false);
    const second = await p.enqueue(q, { n: 2 });
    await sleep(ms(200));
    expect(rec.runsOf(second)).toEqual([]);
    await p.resume(q);
    await until(() => hasId(rec.completed, second), 'the second job after resume');
  });
}
