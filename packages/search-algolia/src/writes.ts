import {
  assertIndexName,
  type BulkResult,
  badDocument,
  type Document,
  ErrorCode,
  type IntegrationError,
} from '@fraiseql/core';
import type { AlgoliaCalls } from './calls';
import { isMissingIndex, PROVIDER } from './errors';
import type { AlgoliaIndexes } from './indexes';
import { RESERVED_ATTRIBUTES, toRecord } from './records';
import type { IndexState } from './settings';
import { waitTask } from './tasks';

type Record_ = Record<string, unknown>;

const failedToIndex = (err: unknown) => (err as IntegrationError).code === ErrorCode.IndexingFailed;

/** Validates a document and builds its record, or throws IN107. */
function toValidRecord(doc: Document, state: IndexState | undefined): Record_ {
  if (typeof doc.id !== 'string' || doc.id === '')
    throw badDocument(PROVIDER, 'A document needs a non-empty string id');
  const data = doc.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw badDocument(PROVIDER, `Document "${doc.id}" must have an object as data`);
  }
  for (const reserved of RESERVED_ATTRIBUTES) {
    if (reserved in data) {
      throw badDocument(
        PROVIDER,
        `Document "${doc.id}" uses the attribute "${reserved}", reserved by the Algolia provider`,
      );
    }
  }
  try {
    return toRecord(doc.id, data, state?.config.sortable ?? []);
  } catch (err) {
    throw badDocument(
      PROVIDER,
      `Document "${doc.id}" cannot be serialised to JSON: ${(err as Error).message}`,
    );
  }
}

/** Document writes: each resolves once Algolia has published its task. */
export class AlgoliaWrites {
  constructor(
    private readonly calls: AlgoliaCalls,
    private readonly indexes: AlgoliaIndexes,
    private readonly batchSize: number,
  ) {}

  private async batch(index: string, records: Record_[]): Promise<number> {
    const r = await this.calls.call(
      { op: `index ${records.length} document(s) into "${index}"`, kind: 'write', index },
      (c) =>
        c.batch({
          indexName: index,
          batchWriteParams: { requests: records.map((body) => ({ action: 'addObject', body })) as never },
        }),
    );
    return r.taskID;
  }

  async indexDocument(doc: Document): Promise<void> {
    if (!doc || typeof doc !== 'object') throw badDocument(PROVIDER, 'indexDocument takes a document object');
    assertIndexName(doc.index);
    const record = toValidRecord(doc, await this.indexes.state(doc.index));
    await waitTask(this.calls, doc.index, await this.batch(doc.index, [record]));
  }

  async indexDocuments(docs: Document[]): Promise<BulkResult> {
    if (!Array.isArray(docs)) throw badDocument(PROVIDER, 'indexDocuments takes an array of documents');
    for (const d of docs) if (d && typeof d === 'object') assertIndexName(d.index);
    const failed: BulkResult['failed'] = [];
    const groups = new Map<string, { id: string; record: Record_ }[]>();
    const states = new Map<string, IndexState | undefined>();
    for (const doc of docs) {
      const id = typeof doc?.id === 'string' ? doc.id : '';
      if (!doc || typeof doc !== 'object') {
        failed.push({ id, reason: 'A document must be an object' });
        continue;
      }
      if (!states.has(doc.index)) states.set(doc.index, await this.indexes.state(doc.index));
      try {
        const record = toValidRecord(doc, states.get(doc.index));
        const list = groups.get(doc.index) ?? [];
        list.push({ id, record });
        groups.set(doc.index, list);
      } catch (err) {
        failed.push({ id, reason: (err as Error).message });
      }
    }
    let succeeded = 0;
    const tasks: { index: string; taskID: number }[] = [];
    for (const [index, items] of groups) {
      for (let i = 0; i < items.length; i += this.batchSize) {
        const chunk = items.slice(i, i + this.batchSize);
        try {
          tasks.push({
            index,
            taskID: await this.batch(
              index,
              chunk.map((c) => c.record),
            ),
          });
          succeeded += chunk.length;
        } catch (err) {
          if (!failedToIndex(err)) throw err;
          // Algolia rejects a whole batch for one bad record: send them one by one to isolate it.
          for (const item of chunk) {
            try {
              tasks.push({ index, taskID: await this.batch(index, [item.record]) });
              succeeded++;
            } catch (single) {
              if (!failedToIndex(single)) throw single;
              failed.push({ id: item.id, reason: (single as Error).message });
            }
          }
        }
      }
    }
    for (const t of tasks) await waitTask(this.calls, t.index, t.taskID);
    return { succeeded, failed };
  }

  async deleteDocument(index: string, id: string): Promise<void> {
    assertIndexName(index);
    if (typeof id !== 'string' || id === '')
      throw badDocument(PROVIDER, 'deleteDocument needs a non-empty string id');
    let taskID: number;
    try {
      const r = await this.calls.call(
        { op: `delete document "${id}" from "${index}"`, kind: 'write', index },
        (c) => c.deleteObject({ indexName: index, objectID: id }),
      );
      taskID = r.taskID;
    } catch (err) {
      // Deleting from a missing index leaves nothing behind either: the delete is idempotent.
      if (isMissingIndex(err)) return;
      throw err;
    }
    await waitTask(this.calls, index, taskID);
  }

  async clearIndex(index: string): Promise<void> {
    assertIndexName(index);
    const r = await this.calls.call({ op: `clear index "${index}"`, kind: 'read', index }, (c) =>
      c.clearObjects({ indexName: index }),
    );
    await waitTask(this.calls, index, r.taskID);
  }
}
