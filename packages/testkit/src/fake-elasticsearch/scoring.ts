import { terms as analyzeTerms, type QueryTerm, termMatches } from './analyze';
import { type ResolvedField, sourceValues } from './mapping';
import type { EsIndex, StoredDoc } from './store';

/**
 * Term statistics of one index's searchable view for one query: analysed tokens per document and
 * field (cached), document frequencies and average field lengths, and the BM25 score of a term
 * (k1 = 1.2, b = 0.75, Lucene's idf). Prefix terms score a constant 1, as Elasticsearch's
 * constant-score prefix queries do.
 */
export class TextStats {
  readonly #tokens = new Map<string, string[]>();
  readonly #df = new Map<string, number>();
  readonly #len = new Map<string, number>();

  constructor(private readonly idx: EsIndex) {}

  readonly tokensOf = (id: string, doc: StoredDoc, f: ResolvedField, name: string): string[] => {
    const key = `${name}\u0000${id}\u0000${doc.seqNo}`;
    let t = this.#tokens.get(key);
    if (!t) {
      t = sourceValues(doc.source, f.sourcePath).flatMap((v) =>
        typeof v === 'object' ? [] : analyzeTerms(String(v)),
      );
      this.#tokens.set(key, t);
    }
    return t;
  };

  #avgLen(name: string, f: ResolvedField): number {
    let a = this.#len.get(name);
    if (a === undefined) {
      let total = 0;
      for (const [id, d] of this.idx.searchable) total += this.tokensOf(id, d, f, name).length;
      const n = this.idx.searchable.size;
      a = n === 0 ? 1 : Math.max(total / n, 1);
      this.#len.set(name, a);
    }
    return a;
  }

  #docFreq(name: string, f: ResolvedField, q: QueryTerm): number {
    const key = `${name}\u0000${q.prefix ? '*' : ''}${q.term}`;
    let n = this.#df.get(key);
    if (n === undefined) {
      n = 0;
      for (const [id, d] of this.idx.searchable)
        if (this.tokensOf(id, d, f, name).some((t) => termMatches(q, t))) n++;
      this.#df.set(key, n);
    }
    return n;
  }

  readonly bm25 = (name: string, f: ResolvedField, id: string, doc: StoredDoc, q: QueryTerm): number => {
    const toks = this.tokensOf(id, doc, f, name);
    const tf = toks.filter((t) => termMatches(q, t)).length;
    if (tf === 0) return 0;
    if (q.prefix) return 1;
    const n = this.#docFreq(name, f, q);
    const idf = Math.log(1 + (this.idx.searchable.size - n + 0.5) / (n + 0.5));
    return (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * toks.length) / this.#avgLen(name, f)));
  };
}
