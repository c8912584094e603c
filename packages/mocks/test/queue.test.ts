import {
  type EnqueueOptions,
  ErrorCode,
  IntegrationError,
  type Job,
  type JobInfo,
  type QueueCapabilities,
} from '@fraiseql/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { aborted, deferred, waitFor } from '../../testkit/src/queue-helpers.ts';
import { describeQueueProvider } from '../../testkit/src/queue-suite.ts';
import { type MockQueueOptions, MockQueueProvider } from '../src/queue.ts';

describeQueueProvider('mock', async (opts) => new MockQueueProvider(opts));

function unsupported(what: string): IntegrationError {
  return IntegrationError.invalidInput(
    ErrorCode.UnsupportedOperation,
    `${what} is not supported by this backend`,
  );
}

/**
 * A backend with none of the optional capabilities (think RabbitMQ without inspection), refusing
 * every such call with IN005: runs the suite's "capability is false" branches, which must pass too.
 */
class BareQueue extends MockQueueProvider {
  override readonly capabilities: QueueCapabilities = {
    priority: false,
    delay: false,
    dedup: false,
    inspect: false,
    retryById: false,
    pause: false,
  };

  private refuseOptions(opts: EnqueueOptions | undefined): void {
    if (opts?.priority) throw unsupported('priority');
    if (opts?.delayMs) throw unsupported('delayMs');
    if (opts?.dedupKey !== undefined) throw unsupported('dedupKey');
  }

  override async enqueue<T>(queue: string, data: T, opts?: EnqueueOptions): Promise<string> {
    this.refuseOptions(opts);
    return super.enqueue(queue, data, opts);
  }
  override async enqueueDelayed(): Promise<string> {
    throw unsupported('enqueueDelayed');
  }
  override async enqueueMany<T>(
    queue: string,
    items: { data: T; opts?: EnqueueOptions }[],
  ): Promise<string[]> {
    for (const item of items) this.refuseOptions(item.opts);
    return super.enqueueMany(queue, items);
  }
  override async getJob(): Promise<JobInfo | null> {
    throw unsupported('getJob');
  }
  override async listJobs(): Promise<JobInfo[]> {
    throw unsupported('listJobs');
  }
  override async retryJob(): Promise<boolean> {
    throw unsupported('retryJob');
  }
  override async deleteJob(): Promise<boolean> {
    throw unsupported('deleteJob');
  }
  override async pause(): Promise<void> {
    throw unsupported('pause');
  }
  override async resume(): Promise<void> {
    throw unsupported('resume');
  }
  override async isPaused(): Promise<boolean> {
    throw unsupported('isPaused');
  }
}

describeQueueProvider('mock without optional capabilities', async (opts) => new BareQueue(opts));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe('MockQueueProvider', () => {
  const open: MockQueueProvider[] = [];
  const make = (opts?: MockQueueOptions): MockQueueProvider => {
    const p = new MockQueueProvider({ queueDefaults: { retryDelayMs: 20 }, closeTimeoutMs: 500, ...opts });
    open.push(p);
    return p;
  };

  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(open.splice(0).map((p) => p.close()));
  });

  // Ports of the seed's "6.3 Queue Provider Tests".
  describe('seed tests', () => {
    it('enqueues and queries', async () => {
      const queue = make();
      const jobId = await queue.enqueue('emails', { action: 'send_email', to: 'user@example.com' });
      expect(jobId).toMatch(UUID);
      expect(await queue.queueLength('emails')).toBe(1);
      queue.assertEnqueued('emails');
    });

    it('records a delayed job with its delay', async () => {
      const queue = make();
      const jobId = await queue.enqueueDelayed('scheduled', { task: 'cleanup' }, 3_600_000);
      const ops = queue.recordedOperations();
      expect(
        ops.some(
          (op) => op.type === 'enqueueDelayed' && op.queue === 'scheduled' && op.delayMs === 3_600_000,
        ),
      ).toBe(true);
      const jobs = queue.jobsInQueue('scheduled');
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.id).toBe(jobId);
      expect(jobs[0]!.delayMs).toBe(3_600_000);
    });

    it('retries a job set to failed', async () => {
      const queue = make();
      const jobId = await queue.enqueue('tasks', { task: 'process' });
      queue.setJobState('tasks', jobId, 'failed');
      expect(await queue.failedCount('tasks')).toBe(1);
      expect(await queue.retryJob('tasks', jobId)).toBe(true);
      expect(await queue.failedCount('tasks')).toBe(0);
      expect(await queue.queueLength('tasks')).toBe(1);
    });

    it('retries a job whose record was marked failed directly, as the seed test does', async () => {
      const queue = make();
      const jobId = await queue.enqueue('tasks', { task: 'process' });
      queue.jobsInQueue('tasks')[0]!.state = 'failed';
      expect(await queue.failedCount('tasks')).toBe(1);
      expect(await queue.retryJob('tasks', jobId)).toBe(true);
      expect(await queue.failedCount('tasks')).toBe(0);
    });

    it('deletes a job', async () => {
      const queue = make();
      const jobId = await queue.enqueue('tasks', {});
      expect(await queue.deleteJob('tasks', jobId)).toBe(true);
      expect(await queue.queueLength('tasks')).toBe(0);
    });
  });

  describe('recording and assertions', () => {
    it('is named "mock" and claims every capability', () => {
      const queue = make();
      expect(queue.name).toBe('mock');
      expect(Object.values(queue.capabilities)).toEqual([true, true, true, true, true, true]);
    });

    it('records every write in order, flagging deduplicated enqueues', async () => {
      const queue = make();
      const a = await queue.enqueue('q', { n: 1 }, { priority: 2, dedupKey: 'k' });
      expect(await queue.enqueue('q', { n: 2 }, { dedupKey: 'k' })).toBe(a);
      const many = await queue.enqueueMany('q', [{ data: 1 }, { data: 2, opts: { delayMs: 5000 } }]);
      await queue.deleteJob('q', many[0]!);
      await queue.retryJob('q', a);
      await queue.pause('q');
      await queue.resume('q');
      const worker = queue.process('other', async () => {}, { concurrency: 2 });
      await worker.close();
      expect(queue.recordedOperations()).toEqual([
        { type: 'enqueue', queue: 'q', jobId: a, priority: 2, dedupKey: 'k', deduplicated: false },
        { type: 'enqueue', queue: 'q', jobId: a, priority: 0, dedupKey: 'k', deduplicated: true },
        { type: 'enqueueMany', queue: 'q', jobIds: many },
        { type: 'deleteJob', queue: 'q', jobId: many[0], deleted: true },
        { type: 'retryJob', queue: 'q', jobId: a, retried: false },
        { type: 'pause', queue: 'q' },
        { type: 'resume', queue: 'q' },
        { type: 'process', queue: 'other', concurrency: 2 },
      ]);
      expect(queue.jobsInQueue('q').find((j) => j.id === many[1])?.delayMs).toBe(5000);
      queue.clearRecordedOperations();
      expect(queue.recordedOperations()).toEqual([]);
    });

    it('does not record rejected calls, and hands out copies of its log', async () => {
      const queue = make();
      await expect(queue.enqueue('bad name', 1)).rejects.toMatchObject({ code: ErrorCode.InvalidQueueName });
      await expect(queue.enqueue('q', 1n)).rejects.toMatchObject({ code: ErrorCode.InvalidJobData });
      expect(queue.recordedOperations()).toEqual([]);
      await queue.enqueue('q', 1);
      queue.recordedOperations().pop();
      expect(queue.recordedOperations()).toHaveLength(1);
    });

    it('assertEnqueued throws with the recorded operations when nothing was enqueued there', async () => {
      const queue = make();
      await queue.enqueue('emails', { to: 'a@example.com' });
      expect(() => queue.assertEnqueued('sms')).toThrow(
        /Expected a job enqueued to 'sms', operations: .*emails/s,
      );
      queue.assertEnqueued('emails', (data) => (data as { to: string }).to === 'a@example.com');
      expect(() =>
        queue.assertEnqueued('emails', (data) => (data as { to: string }).to === 'b@example.com'),
      ).toThrow(/matching job/);
      await queue.enqueueMany('bulk', [{ data: 1 }]);
      queue.assertEnqueued('bulk');
    });

    it('jobsInQueue shows the live state of each job', async () => {
      const queue = make();
      const id = await queue.enqueue('q', { n: 1 });
      const [job] = queue.jobsInQueue('q');
      expect(job).toMatchObject({
        id,
        queue: 'q',
        data: { n: 1 },
        state: 'pending',
        attempts: 0,
        priority: 0,
      });
      expect(job!.delayMs).toBeUndefined();
      queue.process('q', async () => {});
      await waitFor(() => job!.state === 'completed', 5000, 'the job to complete');
      expect(job!.attempts).toBe(1);
      expect(job!.completedAt).toBeInstanceOf(Date);
      expect(queue.jobsInQueue('unknown')).toEqual([]);
    });
  });

  describe('failure injection', () => {
    it('failWith makes every operation reject with IN502 and the message, until shouldFail is cleared', async () => {
      const queue = make();
      queue.failWith('redis is down');
      expect(queue.shouldFail).toBe(true);
      expect(await queue.healthCheck()).toBe(false);
      for (const call of [
        () => queue.enqueue('q', 1),
        () => queue.enqueueDelayed('q', 1, 10),
        () => queue.enqueueMany('q', [{ data: 1 }]),
        () => queue.queueLength('q'),
        () => queue.getJob('q', 'x'),
        () => queue.pause('q'),
      ]) {
        await expect(call()).rejects.toMatchObject({
          code: ErrorCode.ProviderUnavailable,
          message: 'redis is down',
          provider: 'mock',
        });
      }
      queue.shouldFail = false;
      expect(await queue.healthCheck()).toBe(true);
      expect(await queue.enqueue('q', 1)).toMatch(UUID);
    });

    it('a writable shouldFail works alone, and workers sit idle while it is set', async () => {
      const queue = make();
      const id = await queue.enqueue('q', 1);
      queue.shouldFail = true;
      await expect(queue.enqueue('q', 2)).rejects.toMatchObject({ code: ErrorCode.ProviderUnavailable });
      const ran: string[] = [];
      queue.process('q', async (job) => {
        ran.push(job.id);
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(ran).toEqual([]);
      queue.shouldFail = false;
      await waitFor(() => ran.length === 1, 5000, 'the job to run once the failure is cleared');
      expect(ran).toEqual([id]);
    });
  });

  describe('setJobState', () => {
    it('wakes workers when a job is put back to pending, and rejects unknown jobs with IN300', async () => {
      const queue = make();
      const id = await queue.enqueue('q', 1);
      queue.setJobState('q', id, 'failed', 'simulated');
      expect(queue.jobsInQueue('q')[0]).toMatchObject({ state: 'failed', lastError: 'simulated' });
      const ran: number[] = [];
      queue.process('q', async (job) => {
        ran.push(job.attempts);
      });
      queue.setJobState('q', id, 'pending');
      await waitFor(() => ran.length === 1, 5000, 'the job to run');
      expect(() => queue.setJobState('q', '00000000-0000-4000-8000-000000000000', 'failed')).toThrow(
        expect.objectContaining({ code: ErrorCode.JobNotFound }),
      );
      expect(() => queue.setJobState('q', id, 'done' as never)).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidJobOptions }),
      );
    });
  });

  describe('processing details', () => {
    it('stores data as JSON: later changes to the original and handler mutations do not leak', async () => {
      const queue = make();
      const original = { list: [1], when: new Date(0) };
      const id = await queue.enqueue('q', original, { maxRetries: 1 });
      original.list.push(2);
      const seen: unknown[] = [];
      queue.process('q', async (job: Job<{ list: number[]; when: string }>) => {
        seen.push(structuredClone(job.data));
        job.data.list.push(99);
        if (job.attempts === 1) throw new Error('again');
      });
      await waitFor(() => queue.jobsInQueue('q')[0]!.state === 'completed', 5000, 'the job to complete');
      expect(seen).toEqual([
        { list: [1], when: '1970-01-01T00:00:00.000Z' },
        { list: [1], when: '1970-01-01T00:00:00.000Z' },
      ]);
      expect((await queue.getJob('q', id))?.data).toEqual({ list: [1], when: '1970-01-01T00:00:00.000Z' });
    });

    it('rejects job data over maxJobBytes with IN308', async () => {
      const queue = make({ maxJobBytes: 100 });
      await expect(queue.enqueue('q', { text: 'x'.repeat(200) })).rejects.toMatchObject({
        code: ErrorCode.InvalidJobData,
      });
      expect(await queue.enqueue('q', { text: 'short' })).toMatch(UUID);
    });

    it('backs off by retryDelayMs × 2^(attempt-1) with the injected jitter source', async () => {
      const queue = make({ random: () => 0.5, queueDefaults: { retryDelayMs: 30, maxRetries: 2 } });
      await queue.enqueue('q', 1);
      const delays: number[] = [];
      const worker = queue.process('q', async () => {
        throw new Error('nope');
      });
      worker.on('retrying', (_job, _err, delayMs: number) => delays.push(delayMs));
      let failedError: unknown;
      worker.on('failed', (_job, err) => {
        failedError = err;
      });
      await waitFor(() => failedError !== undefined, 5000, 'the job to fail');
      expect(delays).toEqual([30, 60]);
      expect(failedError).toMatchObject({ code: ErrorCode.MaxRetriesExceeded });
    });

    it('honours a queue rate limit across its workers', async () => {
      const queue = make({ queues: { limited: { rateLimit: { max: 2, perSeconds: 0.3 } } } });
      await queue.enqueueMany('limited', [{ data: 1 }, { data: 2 }, { data: 3 }]);
      const starts: number[] = [];
      queue.process(
        'limited',
        async () => {
          starts.push(Date.now());
        },
        { concurrency: 3 },
      );
      await waitFor(() => starts.length === 3, 5000, 'three starts');
      expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(300 - 2);
    });

    it('deleting a running job aborts its signal and drops its outcome', async () => {
      const queue = make();
      const id = await queue.enqueue('q', 1);
      const started = deferred<AbortSignal>();
      const completed: string[] = [];
      const worker = queue.process('q', async (job) => {
        started.resolve(job.signal);
        await aborted(job.signal, 5000);
      });
      worker.on('completed', (job) => completed.push(job.id));
      const signal = await started.promise;
      expect(await queue.deleteJob('q', id)).toBe(true);
      expect(signal.aborted).toBe(true);
      expect(queue.jobsInQueue('q')).toEqual([]);
      await worker.close();
      expect(completed).toEqual([]);
    });

    it("reports a throwing event listener as an 'error' event and keeps going", async () => {
      const queue = make();
      const errors: unknown[] = [];
      const worker = queue.process('q', async () => {});
      worker.on('completed', () => {
        throw new Error('listener bug');
      });
      worker.on('error', (err) => errors.push(err));
      await queue.enqueue('q', 1);
      await queue.enqueue('q', 2);
      await waitFor(() => errors.length === 2, 5000, 'two error events');
      expect(queue.jobsInQueue('q').map((j) => j.state)).toEqual(['completed', 'completed']);
    });
  });

  describe('close', () => {
    it('clears its timers, so nothing keeps the process alive', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const queue = make();
      queue.process('q', async () => {});
      await queue.enqueueDelayed('q', 1, 60_000);
      await Promise.resolve();
      expect(vi.getTimerCount()).toBeGreaterThan(0);
      await queue.close();
      expect(vi.getTimerCount()).toBe(0);
    });

    it('rejects further use once closed', async () => {
      const queue = make();
      await queue.close();
      expect(await queue.healthCheck()).toBe(false);
      await expect(queue.enqueue('q', 1)).rejects.toMatchObject({ code: ErrorCode.ProviderUnavailable });
      expect(() => queue.process('q', async () => {})).toThrow(
        expect.objectContaining({ code: ErrorCode.ProviderUnavailable }),
      );
    });
  });
});
