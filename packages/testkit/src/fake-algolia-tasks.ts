/**
 * The task queue of the Algolia protocol double: every write returns a `taskID` and is applied
 * (visible to searches) only once published, `taskDelayMs` after the request, in order.
 */

export interface Task {
  id: number;
  index: string;
  publishAt: number;
  apply: () => void;
}

export interface AlgoliaTaskQueue {
  /** Tasks not published yet, in order. */
  readonly tasks: Task[];
  /** The id the next task will get (ids start at 1000). */
  readonly nextTaskId: number;
  /** Applies every task whose time has come, in order. */
  processTasks(): void;
  /** Queues a write on `index`; returns its `taskID`. */
  enqueue(index: string, apply: () => void): number;
}

/** `taskDelayMs()` is read at each write (the knob is writable). */
export function createAlgoliaTaskQueue(taskDelayMs: () => number): AlgoliaTaskQueue {
  const tasks: Task[] = [];
  let nextTaskId = 1000;
  let lastPublishAt = 0;
  const state = {
    get taskDelayMs() {
      return taskDelayMs();
    },
  };

  /** Applies every task whose time has come, in order. */
  const processTasks = () => {
    const t = Date.now();
    while (tasks.length > 0 && tasks[0]!.publishAt <= t) tasks.shift()!.apply();
  };

  const enqueue = (index: string, apply: () => void): number => {
    const id = nextTaskId++;
    // Tasks publish in order even when taskDelayMs shrinks between two writes.
    const publishAt = Math.max(Date.now() + state.taskDelayMs, lastPublishAt);
    lastPublishAt = publishAt;
    tasks.push({ id, index, publishAt, apply });
    return id;
  };

  return {
    tasks,
    get nextTaskId() {
      return nextTaskId;
    },
    processTasks,
    enqueue,
  };
}
