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

const BATCH = 500;

/**
 * Enqueues one job per tick, batched per queue with `enqueueMany` (one round trip per batch).
 * A batch that fails leaves all its ticks in `failed` (retried by the caller on the next pass).
 */
export async function enqueueTicks(
  queue: QueueProvider,
  ticks: { ref: TickRef; def: ScheduleDef }[],
): Promise<EnqueueOutcome> {
  const out: EnqueueOutcome = { done: [], failed: [] };
  const byQueue = new Map<string, { ref: TickRef; def: ScheduleDef }[]>();
  for (const t of ticks) {
    const list = byQueue.get(t.def.queue);
    if (list) list.push(t);
    else byQueue.set(t.def.queue, [t]);
  }
  const batches: { name: string; part: { ref: TickRef; def: ScheduleDef }[] }[] = [];
  for (const [name, list] of byQueue) {
    for (let i = 0; i < list.length; i += BATCH) batches.push({ name, part: list.slice(i, i + BATCH) });
  }
  await Promise.all(
    batches.map(async ({ name, part }) => {
      try {
        const items = part.map(({ ref, def }) => {
          const opts = tickOptions(queue, def, ref.tick);
          return opts ? { data: structuredClone(def.data), opts } : { data: structuredClone(def.data) };
        });
        const ids =
          items.length === 1
            ? [await queue.enqueue(name, items[0]?.data, items[0]?.opts)]
            : await queue.enqueueMany(name, items);
        part.forEach(({ ref }, i) => {
          out.done.push({ ...ref, jobId: ids[i] as string });
        });
      } catch (error) {
        for (const { ref } of part) out.failed.push({ ref, error });
      }
    }),
  );
  return out;
}
