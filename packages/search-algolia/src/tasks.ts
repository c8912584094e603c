import { ErrorCode, IntegrationError, sleep } from '@fraiseql/core';
import type { AlgoliaCalls } from './calls';
import { PROVIDER } from './errors';

/**
 * Waits until a task is published (the write is then visible to searches), polling with a growing
 * delay up to 500 ms; a failed task or one not published within `taskTimeoutMs` is IN105.
 */
export async function waitTask(calls: AlgoliaCalls, index: string, taskID: number): Promise<void> {
  const limit = calls.taskTimeoutMs;
  const started = Date.now();
  let delay = 10;
  for (;;) {
    let status: string;
    try {
      const r = await calls.call(
        { op: `wait for task ${taskID} on index "${index}"`, kind: 'settings', index },
        (client) => client.getTask({ indexName: index, taskID }),
      );
      status = r.status;
    } catch (err) {
      if ((err as IntegrationError).code === ErrorCode.AlgoliaError) {
        throw IntegrationError.provider(
          ErrorCode.IndexingFailed,
          PROVIDER,
          `[algolia] task ${taskID} on index "${index}" failed: ${(err as Error).message}`,
          err,
        );
      }
      throw err;
    }
    if (status === 'published') return;
    const elapsed = Date.now() - started;
    if (elapsed >= limit) {
      throw IntegrationError.provider(
        ErrorCode.IndexingFailed,
        PROVIDER,
        `[algolia] task ${taskID} on index "${index}" was not published within ${limit} ms (status ${status})`,
      );
    }
    await sleep(Math.min(delay, limit - elapsed), calls.signal);
    delay = Math.min(delay * 2, 500);
  }
}
