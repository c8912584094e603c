import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import { queueCall, type SuiteContext } from './context';

/** Invalid queue names, data and options. */
export function validationTests(ctx: SuiteContext): void {
  const { setup, queueName } = ctx;

  it('invalid queue names are IN307 everywhere; valid ones use the whole alphabet up to 128 chars', async () => {
    const p = await setup();
    for (const bad of ['', 'a b', 'x'.repeat(129), 'x;drop', 'emails\n', 'ü']) {
      const label = JSON.stringify(bad.length > 20 ? `${bad.slice(0, 10)}…(${bad.length})` : bad);
      await expectIntegrationError(() => p.enqueue(bad, { n: 1 }), 'IN307', queueCall(`enqueue on ${label}`));
      await expectIntegrationError(
        () => p.enqueueMany(bad, [{ data: 1 }]),
        'IN307',
        queueCall(`enqueueMany on ${label}`),
      );
      await expectIntegrationError(() => p.queueLength(bad), 'IN307', queueCall(`queueLength on ${label}`));
      await expectIntegrationError(() => p.failedCount(bad), 'IN307', queueCall(`failedCount on ${label}`));
      await expectIntegrationError(
        () => p.process(bad, async () => {}),
        'IN307',
        queueCall(`process on ${label}`),
      );
    }
    const dotted = `${queueName()}.Mail:Out-1`;
    const long = queueName().padEnd(128, 'x');
    for (const q of [dotted, long]) {
      await p.enqueue(q, { n: 1 });
      expect(await p.queueLength(q)).toBe(1);
    }
  });

  it('job data that is not JSON-serialisable is IN308 and enqueues nothing', async () => {
    const p = await setup();
    const q = queueName();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expectIntegrationError(() => p.enqueue(q, { n: 10n }), 'IN308', queueCall('BigInt data'));
    await expectIntegrationError(
      () => p.enqueue(q, { deep: { n: [1n] } }),
      'IN308',
      queueCall('nested BigInt data'),
    );
    await expectIntegrationError(() => p.enqueue(q, cyclic), 'IN308', queueCall('cyclic data'));
    await expectIntegrationError(() => p.enqueue(q, () => 1), 'IN308', queueCall('a function as data'));
    expect(await p.queueLength(q)).toBe(0);
  });

  it('out-of-range options are IN309', async () => {
    const p = await setup();
    const q = queueName();
    const { delay, priority } = p.capabilities;
    await expectIntegrationError(
      () => p.enqueue(q, 1, { delayMs: -1 }),
      delay ? 'IN309' : ['IN309', 'IN005'],
      queueCall('delayMs -1'),
    );
    await expectIntegrationError(
      () => p.enqueueDelayed(q, 1, -5),
      delay ? 'IN309' : ['IN309', 'IN005'],
      queueCall('enqueueDelayed -5'),
    );
    await expectIntegrationError(
      () => p.enqueue(q, 1, { priority: 1.5 }),
      priority ? 'IN309' : ['IN309', 'IN005'],
      queueCall('priority 1.5'),
    );
    await expectIntegrationError(
      () => p.enqueue(q, 1, { maxRetries: -1 }),
      'IN309',
      queueCall('maxRetries -1'),
    );
    await expectIntegrationError(() => p.enqueue(q, 1, { timeoutMs: 0 }), 'IN309', queueCall('timeoutMs 0'));
    await expectIntegrationError(
      () => p.process(q, async () => {}, { concurrency: 0 }),
      'IN309',
      queueCall('concurrency 0'),
    );
    await expectIntegrationError(
      () => p.process(q, async () => {}, { concurrency: 1.5 }),
      'IN309',
      queueCall('concurrency 1.5'),
    );
    expect(await p.queueLength(q)).toBe(0);
  });
}
