import { MeiliError, type MeiliErrorBody } from './fake-meilisearch-errors';

/**
 * The task queue of the Meilisearch protocol double: writes are enqueued as tasks and applied one
 * at a time, in uid order (`enqueued` → `processing` → `succeeded`/`failed`), like the engine's
 * scheduler.
 */

export type TaskStatus = 'enqueued' | 'processing' | 'succeeded' | 'failed' | 'canceled';

export interface Task {
  uid: number;
  batchUid: number | null;
  indexUid: string | null;
  status: TaskStatus;
  type: string;
  canceledBy: null;
  details: Record<string, unknown>;
  error: MeiliErrorBody | null;
  duration: string | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface QueuedTask {
  task: Task;
  /** Applies the write; throws a MeiliError to fail the task. Returns details to merge. */
  apply: () => Record<string, unknown> | undefined;
}

function isoDuration(ms: number): string {
  return `PT${(ms / 1000).toFixed(6)}S`;
}

/** The summarized task a write answers with (202). */
export interface TaskSummary {
  taskUid: number;
  indexUid: string | null;
  status: TaskStatus;
  type: string;
  enqueuedAt: string;
}

/** What the queue needs from the server: its clock and whether it is closed. */
export interface MeiliTaskQueueEnv {
  /** Resolves after `ms` (never once the server is closed). */
  sleep(ms: number): Promise<void>;
  readonly closed: boolean;
  /** Time each task spends enqueued + processing. */
  readonly taskDelayMs: number;
}

export interface MeiliTaskQueue {
  /** Every task by uid, finished ones included. */
  readonly tasks: Map<number, Task>;
  /** Tasks not applied yet, in order. */
  readonly queue: QueuedTask[];
  /** The next `left` tasks to be processed fail with `error`. */
  failTasks: { left: number; error: MeiliErrorBody } | undefined;
  enqueue(
    indexUid: string | null,
    type: string,
    details: Record<string, unknown>,
    apply: QueuedTask['apply'],
  ): TaskSummary;
}

export function createMeiliTaskQueue(env: MeiliTaskQueueEnv): MeiliTaskQueue {
  const tasks = new Map<number, Task>();
  const queue: QueuedTask[] = [];
  let nextTaskUid = 0;
  let nextBatchUid = 0;
  let processing = false;
  const sleep = (ms: number): Promise<void> => env.sleep(ms);

  const enqueue = (
    indexUid: string | null,
    type: string,
    details: Record<string, unknown>,
    apply: QueuedTask['apply'],
  ): TaskSummary => {
    const task: Task = {
      uid: nextTaskUid++,
      batchUid: null,
      indexUid,
      status: 'enqueued',
      type,
      canceledBy: null,
      details,
      error: null,
      duration: null,
      enqueuedAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    tasks.set(task.uid, task);
    queue.push({ task, apply });
    void pump();
    return { taskUid: task.uid, indexUid, status: task.status, type, enqueuedAt: task.enqueuedAt };
  };

  // One task at a time, in uid order, like the engine's scheduler.
  const pump = async (): Promise<void> => {
    if (processing || env.closed) return;
    processing = true;
    try {
      while (queue.length > 0 && !env.closed) {
        const { task, apply } = queue[0]!;
        await sleep(Math.max(0, env.taskDelayMs / 2));
        if (env.closed) return;
        task.status = 'processing';
        task.batchUid = nextBatchUid++;
        task.startedAt = new Date().toISOString();
        const started = performance.now();
        await sleep(Math.max(0, env.taskDelayMs / 2));
        if (env.closed) return;
        queue.shift();
        try {
          if (self.failTasks && self.failTasks.left > 0) {
            self.failTasks.left--;
            const e = self.failTasks.error;
            throw new MeiliError(500, e.code, e.message, e.type as MeiliError['type']);
          }
          const extra = apply();
          if (extra) Object.assign(task.details, extra);
          task.status = 'succeeded';
        } catch (err) {
          task.status = 'failed';
          task.error =
            err instanceof MeiliError
              ? err.toBody()
              : new MeiliError(
                  500,
                  'internal',
                  `An internal error has occurred. \`${String(err)}\`.`,
                  'internal',
                ).toBody();
          if ('receivedDocuments' in task.details) task.details.indexedDocuments = 0;
          if ('providedIds' in task.details) task.details.deletedDocuments = 0;
        }
        task.finishedAt = new Date().toISOString();
        task.duration = isoDuration(performance.now() - started);
      }
    } finally {
      processing = false;
    }
  };

  const self: MeiliTaskQueue = { tasks, queue, failTasks: undefined, enqueue };
  return self;
}
