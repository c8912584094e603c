import type { EnqueueOptions, QueueProvider } from '@fraiseql/core';
import type { ScheduleDef } from './definition';
import type { TickRef } from './store';

/** The dedup key of a tick: the same for every scheduler, so a re-enqueue after a crash is a no-op. */
export function tickDedupKey(id: string, tick: number): string {
  return `schedule:${id}:${tick}`;
}

/** Enqueue options of one tick: the template's, with our dedup key where the backend dedups. */
export function tickOptions(
  queue: QueueProvider,
  def: ScheduleDef,
  tick: number,
): EnqueueOptions | undefined {
  const opts: EnqueueOptions = { ...def.opts };
  if (queue.capabilities.dedup) opts.dedupKey = tickDedupKey(def.id, tick);
  // A backend without dedup refuses the option; a template's key cannot be honoured there.
  else delete opts.dedupKey;
  return Object.keys(opts).length > 0 ? opts : undefined;
}

export interface EnqueueOutcome {
  done: (TickRef & { jobId: string })[];
  failed: { ref: TickRef; error: unknown }[];
}

/** One `enqueueMany` call, built ahead of time (a held tick's jobs are ready before its instant). */
export interface TickBatch {
  queue: string;
  refs: TickRef[];
  items: { data: unknown; opts?: EnqueueOptions }[];
}

const BATCH = 500;
/**
 * Batches in flight at once. Thousands of ticks of one instant go out as a few concurrent batches,
 * not all at once: on Postgres 20 concurrent 500-row inserts finish later than 4 (they contend for
 * the same CPUs and the pool), and the lag of the last tick is what counts.
 */
const IN_FLIGHT = 4;

/** Groups ticks per queue into `enqueueMany` batches with their job data and options. */
export function prepareTicks(queue: QueueProvider, ticks: { ref: TickRef; def: ScheduleDef }[]): TickBatch[] {
  const byQueue = new Map<string, { ref: TickRef; def: ScheduleDef }[]>();
  for (const t of ticks) {
    const list = byQueue.get(t.def.queue);
    if (list) list.push(t);
    else byQueue.set(t.def.queue, [t]);
  }
  const batches: TickBatch[] = [];
  for (const [name, list] of byQueue) {
    for (let i = 0; i < list.length; i += BATCH) {
      const part = list.slice(i, i + BATCH);
      batches.push({
        queue: name,
        refs: part.map((p) => p.ref),
        items: part.map(({ ref, def }) => {
          const opts = tickOptions(queue, def, ref.tick);
          return opts ? { data: structuredClone(def.data), opts } : { data: structuredClone(def.data) };
        }),
      });
    }
  }
  return batches;
}

/**
 * Sends prepared batches, `IN_FLIGHT` at a time (one round trip per batch). A batch that fails
 * leaves all its ticks in `failed` (retried by the caller on the next pass).
 */
export async function sendTicks(queue: QueueProvider, batches: TickBatch[]): Promise<EnqueueOutcome> {
  const out: EnqueueOutcome = { done: [], failed: [] };
  let next = 0;
  const lane = async () => {
    for (let b = batches[next++]; b !== undefined; b = batches[next++]) {
      const { queue: name, refs, items } = b;
      try {
        const first = items[0];
        const ids =
          items.length === 1 && first
            ? [await queue.enqueue(name, first.data, first.opts)]
            : await queue.enqueueMany(name, items);
        refs.forEach((ref, i) => {
          out.done.push({ ...ref, jobId: ids[i] as string });
        });
      } catch (error) {
        for (const ref of refs) out.failed.push({ ref, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, lane));
  return out;
}

/** Enqueues one job per tick, batched per queue with `enqueueMany`. */
export function enqueueTicks(
  queue: QueueProvider,
  ticks: { ref: TickRef; def: ScheduleDef }[],
): Promise<EnqueueOutcome> {
  return sendTicks(queue, prepareTicks(queue, ticks));
}
