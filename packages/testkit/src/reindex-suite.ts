import { type IndexConfig, isIntegrationError, reindex, type SearchProvider } from '@fraiseql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './services';

export interface ReindexSuiteOptions {
  /** Every index name the engine holds now (to prove no `<index>__*` is left behind). */
  listIndexes: (p: SearchProvider) => Promise<string[]>;
  /** Removes the indexes a test created (live names). */
  dropIndexes?: (p: SearchProvider, names: string[]) => Promise<void>;
  /** Documents of the rebuild. Default 240. */
  documents?: number;
  /** Per-test timeout. Default 30 s. */
  timeoutMs?: number;
}

const CONFIG: IndexConfig = { searchable: ['title'], filterable: ['gen'], sortable: ['n'] };

const doc = (gen: number, n: number) => ({ id: `d${n}`, title: `item ${n} gen${gen}`, gen, n });

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Searches `index` in a loop until stopped; counts errors and empty pages (there must be none). */
function searchLoop(p: SearchProvider, index: string) {
  const stats = { searches: 0, errors: [] as unknown[], empty: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const r = await p.search({ index, query: '', limit: 5 });
        stats.searches++;
        if (r.hits.length === 0 || r.totalHits === 0) stats.empty++;
      } catch (err) {
        stats.errors.push(err);
      }
      await pause(1);
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await done;
      return stats;
    },
  };
}

/**
 * Zero-downtime reindex (DESIGN §14.3) against one provider: searches keep answering throughout
 * a rebuild, a failed rebuild leaves the old index serving and no `<index>__*` behind.
 */
export function describeReindex(
  name: string,
  factory: () => Promise<SearchProvider>,
  opts: ReindexSuiteOptions,
): void {
  const total = opts.documents ?? 240;
  const timeout = opts.timeoutMs ?? 30_000;
  describe(`reindex: ${name}`, () => {
    let provider: SearchProvider | undefined;
    const created: string[] = [];
    const p = () => {
      if (!provider) throw new Error('the search provider factory has not run (or failed)');
      return provider;
    };
    beforeAll(async () => {
      provider = await factory();
    });
    afterAll(async () => {
      if (!provider) return;
      try {
        if (opts.dropIndexes && created.length > 0) await opts.dropIndexes(provider, created);
      } finally {
        await provider.close();
      }
    });

    const seeded = async (): Promise<string> => {
      const index = uniqueName('ri');
      created.push(index);
      await p().configureIndex(index, CONFIG);
      const r = await p().indexDocuments(
        Array.from({ length: 30 }, (_, i) => ({ id: `d${i}`, index, data: doc(1, i) })),
      );
      expect(r.failed).toEqual([]);
      return index;
    };
    const leftovers = async (index: string) =>
      (await opts.listIndexes(p())).filter((n) => n.startsWith(`${index}__`));
    async function* rows(gen: number, count: number, failAt = -1) {
      for (let i = 0; i < count; i++) {
        if (i === failAt) throw new Error('source broke');
        // Yield to the event loop now and then so the search loop runs during the fill.
        if (i % 40 === 0) await pause(5);
        yield doc(gen, i);
      }
    }
    const gens = async (index: string) => {
      const r = await p().search<{ gen: number }>({ index, query: '', limit: 1000 });
      return { total: r.totalHits, gens: [...new Set(r.hits.map((h) => h.document.gen))] };
    };

    it(
      'swaps in the rebuilt index while searches keep answering (0 errors, 0 empty pages)',
      async () => {
        const index = await seeded();
        const loop = searchLoop(p(), index);
        const progress: number[] = [];
        const result = await reindex(p(), {
          index,
          source: () => rows(2, total),
          config: CONFIG,
          batchSize: 50,
          onProgress: (x) => progress.push(x.documents),
        });
        await pause(30);
        const stats = await loop.stop();
        expect(stats.errors).toEqual([]);
        expect(stats.empty).toBe(0);
        expect(stats.searches).toBeGreaterThan(2);
        expect(result).toMatchObject({ documents: total, failed: 0 });
        expect(progress.at(-1)).toBe(total);
        expect(await gens(index)).toEqual({ total, gens: [2] });
        // The new index has the declared settings: filter and sort work through the live name.
        const filtered = await p().search({
          index,
          query: 'gen2',
          filter: { field: 'gen', op: 'eq', value: 2 },
          sort: ['n:desc'],
          limit: 1,
        });
        expect(filtered.hits[0]?.id).toBe(`d${total - 1}`);
        expect(await leftovers(index)).toEqual([]);
      },
      timeout,
    );

    it(
      'without config keeps the live settings; a second rebuild works too',
      async () => {
        const index = await seeded();
        await reindex(p(), { index, source: rows(2, 60), batchSize: 25 });
        const r = await reindex(p(), { index, source: rows(3, 70) });
        expect(r.documents).toBe(70);
        const f = await p().search({
          index,
          query: '',
          filter: { field: 'gen', op: 'eq', value: 3 },
          sort: ['n:asc'],
          limit: 2,
        });
        expect(f.totalHits).toBe(70);
        expect(f.hits.map((h) => h.id)).toEqual(['d0', 'd1']);
        expect(await leftovers(index)).toEqual([]);
      },
      timeout,
    );

    it(
      'a source that throws midway leaves the old index serving and nothing behind',
      async () => {
        const index = await seeded();
        const loop = searchLoop(p(), index);
        const err = await reindex(p(), {
          index,
          source: () => rows(2, total, 130),
          config: CONFIG,
          batchSize: 50,
        }).catch((e) => e);
        const stats = await loop.stop();
        expect(isIntegrationError(err) && err.code).toBe('IN105');
        expect(String(err.message)).toContain('source broke');
        expect(stats.errors).toEqual([]);
        expect(stats.empty).toBe(0);
        expect(await gens(index)).toEqual({ total: 30, gens: [1] });
        expect(await leftovers(index)).toEqual([]);
      },
      timeout,
    );

    it(
      'more refused documents than maxFailed aborts; within maxFailed they are reported',
      async () => {
        const index = await seeded();
        async function* someWithoutId(bad: number) {
          for (let i = 0; i < 50; i++) yield i < bad ? { title: 'no id', gen: 2, n: i } : doc(2, i);
        }
        const err = await reindex(p(), { index, source: someWithoutId(3), maxFailed: 2 }).catch((e) => e);
        expect(isIntegrationError(err) && err.code).toBe('IN105');
        expect(await gens(index)).toEqual({ total: 30, gens: [1] });
        expect(await leftovers(index)).toEqual([]);
        const ok = await reindex(p(), { index, source: someWithoutId(2), maxFailed: 2 });
        expect(ok).toMatchObject({ documents: 48, failed: 2 });
        expect(ok.failures[0]?.reason).toContain('"id"');
        expect((await gens(index)).total).toBe(48);
      },
      timeout,
    );

    it(
      'builds an index that did not exist yet',
      async () => {
        const index = uniqueName('ri');
        created.push(index);
        const r = await reindex(p(), { index, source: rows(5, 20), config: CONFIG });
        expect(r.documents).toBe(20);
        expect(await gens(index)).toEqual({ total: 20, gens: [5] });
        expect(await leftovers(index)).toEqual([]);
      },
      timeout,
    );
  });
}
