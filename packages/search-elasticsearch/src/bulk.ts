import type { BulkResult } from '@fraiseql/core';
import { describeEngineError } from './errors';

/** One prepared document: engine index name, id, `_source`. */
export interface BulkDoc {
  index: string;
  id: string;
  body: Record<string, unknown>;
}

interface BulkItem {
  _id?: string | null;
  status?: number;
  error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } };
}

/**
 * Sends documents as `_bulk` `index` operations in batches and reads every item's outcome: an item
 * with an `error` is reported with the engine's `type: reason` (and its cause), the others counted.
 */
export async function bulkWrite(
  docs: BulkDoc[],
  batchSize: number,
  send: (operations: unknown[]) => Promise<{ items?: Partial<Record<string, BulkItem>>[] }>,
): Promise<BulkResult> {
  const failed: BulkResult['failed'] = [];
  let succeeded = 0;
  for (let i = 0; i < docs.length; i += batchSize) {
    const batch = docs.slice(i, i + batchSize);
    const operations = batch.flatMap((d) => [{ index: { _index: d.index, _id: d.id } }, d.body]);
    const res = await send(operations);
    const items = res.items ?? [];
    batch.forEach((d, n) => {
      const item = items[n] ? Object.values(items[n]!)[0] : undefined;
      if (!item) {
        failed.push({ id: d.id, reason: 'Elasticsearch returned no result for this document' });
        return;
      }
      if (item.error) {
        const cause = item.error.caused_by?.reason ? ` (${item.error.caused_by.reason})` : '';
        const e = item.error;
        const reason = describeEngineError({
          ...(e.type ? { type: e.type } : {}),
          ...(e.reason ? { reason: e.reason } : {}),
          ...(item.status === undefined ? {} : { status: item.status }),
        });
        failed.push({ id: d.id, reason: reason + cause });
      } else succeeded++;
    });
  }
  return { succeeded, failed };
}
