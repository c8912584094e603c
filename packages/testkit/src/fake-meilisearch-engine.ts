import { badRequest } from './fake-meilisearch-errors';
import { meiliFilterFields } from './fake-meilisearch-filter';
import {
  attributeCovered,
  evaluateMeiliFilter,
  lookupField,
  normalizeFacet,
} from './fake-meilisearch-filter-eval';
import { parseSearchRequest, type SearchRequest } from './fake-meilisearch-search-request';
import { defaultSettings, type Settings } from './fake-meilisearch-settings';
import {
  formatValue,
  matchKind,
  type QueryWord,
  queryWords,
  textsOf,
  tokenize,
} from './fake-meilisearch-text';

/**
 * The in-memory index behind `startFakeMeilisearch`: documents, settings and the search endpoint
 * (request parsed in fake-meilisearch-search-request.ts, matching and `_formatted` in
 * fake-meilisearch-text.ts), with Meilisearch's validation and error bodies. Relevance is deliberately simple
 * (typo-free words, prefix on the last word, ranked by matched words, then attribute, then
 * exactness); everything a client can observe in the protocol — pagination modes, facets,
 * `_formatted`, `_rankingScore`, errors — follows the engine's documented shapes.
 */

const listNames = (names: readonly unknown[]): string =>
  names
    .flatMap((n) => (typeof n === 'string' ? [n] : ((n as any)?.attributePatterns ?? [])))
    .map((n: string) => `\`${n}\``)
    .join(', ');

// ---------------------------------------------------------------------------------------------
// Index

export interface IndexInfo {
  uid: string;
  primaryKey: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Candidate {
  docid: number;
  doc: Record<string, unknown>;
  score: number;
}

export class FakeIndex {
  primaryKey: string | null = null;
  readonly createdAt = new Date().toISOString();
  updatedAt = this.createdAt;
  settings: Settings = defaultSettings();
  /** External id → document; Map order is Meilisearch's internal docid order (the browse order). */
  readonly docs = new Map<string, Record<string, unknown>>();

  constructor(readonly uid: string) {}

  info(): IndexInfo {
    return {
      uid: this.uid,
      primaryKey: this.primaryKey,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
    };
  }

  touch(): void {
    this.updatedAt = new Date().toISOString();
  }

  search(body: unknown): Record<string, unknown> {
    const started = performance.now();
    const req = parseSearchRequest(body);
    const s = this.settings;
    for (const field of meiliFilterFields(req.filter)) {
      if (!attributeCovered(field, s.filterableAttributes)) {
        throw badRequest(
          'invalid_search_filter',
          s.filterableAttributes.length === 0
            ? `Attribute \`${field}\` is not filterable. This index does not have configured filterable attributes.`
            : `Attribute \`${field}\` is not filterable. Available filterable attribute patterns are: ${listNames(s.filterableAttributes)}.`,
        );
      }
    }
    if (req.sort.length > 0 && !s.rankingRules.includes('sort')) {
      throw badRequest(
        'invalid_search_sort',
        'You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time.',
      );
    }
    for (const { field } of req.sort) {
      if (!attributeCovered(field, s.sortableAttributes)) {
        throw badRequest(
          'invalid_search_sort',
          s.sortableAttributes.length === 0
            ? `Attribute \`${field}\` is not sortable. This index does not have configured sortable attributes.`
            : `Attribute \`${field}\` is not sortable. Available sortable attributes are: ${listNames(s.sortableAttributes)}.`,
        );
      }
    }
    const facetNames = req.facets.includes('*')
      ? s.filterableAttributes.filter((f): f is string => typeof f === 'string')
      : req.facets;
    for (const f of facetNames) {
      if (!attributeCovered(f, s.filterableAttributes)) {
        throw badRequest(
          'invalid_search_facets',
          `Invalid facet distribution: Attribute \`${f}\` is not filterable. ${
            s.filterableAttributes.length === 0
              ? 'This index does not have configured filterable attributes.'
              : `Available filterable attributes patterns are: ${listNames(s.filterableAttributes)}.`
          }`,
        );
      }
    }

    const words = queryWords(req.q);
    const candidates = this.#match(words, req);
    this.#order(candidates, req, words.length > 0);

    const maxTotalHits = s.pagination.maxTotalHits;
    const reachable = candidates.slice(0, maxTotalHits);
    const finite = req.page !== undefined || req.hitsPerPage !== undefined;
    let page: Candidate[];
    const out: Record<string, unknown> = { hits: [], query: req.q, processingTimeMs: 0 };
    if (finite) {
      const hitsPerPage = req.hitsPerPage ?? 20;
      const pageNo = req.page ?? 1;
      page =
        pageNo === 0 || hitsPerPage === 0
          ? []
          : reachable.slice((pageNo - 1) * hitsPerPage, pageNo * hitsPerPage);
      Object.assign(out, {
        hitsPerPage,
        page: pageNo,
        totalPages: hitsPerPage === 0 ? 0 : Math.ceil(reachable.length / hitsPerPage),
        totalHits: reachable.length,
      });
    } else {
      const offset = req.offset ?? 0;
      const limit = req.limit ?? 20;
      page = reachable.slice(offset, offset + limit);
      Object.assign(out, { limit, offset, estimatedTotalHits: reachable.length });
    }
    out.hits = page.map((c) => this.#hit(c, req, words));
    if (req.facets.length > 0) Object.assign(out, this.#facets(candidates, facetNames));
    out.processingTimeMs = Math.round(performance.now() - started);
    return out;
  }

  #searchable(doc: Record<string, unknown>): unknown[][] {
    const attrs = this.settings.searchableAttributes;
    if (attrs.includes('*')) return Object.values(doc).map((v) => [v]);
    return attrs.map((a) => lookupField(doc, a).raw);
  }

  #match(words: QueryWord[], req: SearchRequest): Candidate[] {
    const out: Candidate[] = [];
    let docid = 0;
    for (const doc of this.docs.values()) {
      docid++;
      if (req.filter && !evaluateMeiliFilter(req.filter, doc)) continue;
      if (words.length === 0) {
        out.push({ docid, doc, score: 1 });
        continue;
      }
      const attrs = this.#searchable(doc).map((values) =>
        textsOf(values).flatMap((t) => tokenize(t).map((tok) => tok.norm)),
      );
      let matched = 0;
      let exact = 0;
      let bestAttr = attrs.length;
      for (const w of words) {
        let kind: 0 | 1 | 2 = 0;
        for (let a = 0; a < attrs.length; a++) {
          for (const tok of attrs[a]!) {
            const k = matchKind(w, tok);
            if (k > 0) bestAttr = Math.min(bestAttr, a);
            if (k > kind) kind = k;
          }
        }
        // "last"/"frequency" drop words from the end; a word that fails ends the run.
        if (kind === 0) break;
        matched++;
        if (kind === 2) exact++;
      }
      if (matched === 0 || (req.matchingStrategy === 'all' && matched < words.length)) continue;
      const attrScore = attrs.length === 0 ? 0 : 1 - bestAttr / attrs.length;
      const score = ((100 * matched) / words.length + 10 * attrScore + exact / matched) / 111;
      out.push({ docid, doc, score: Math.round(score * 1e6) / 1e6 });
    }
    return out;
  }

  #order(cands: Candidate[], req: SearchRequest, hasWords: boolean): void {
    const rules = this.settings.rankingRules;
    const sortFirst = rules.indexOf('sort') !== -1 && rules.indexOf('sort') < rules.indexOf('words');
    const bySort = (a: Candidate, b: Candidate): number => {
      for (const { field, dir } of req.sort) {
        const c = compareSortKeys(sortKey(a.doc, field, dir), sortKey(b.doc, field, dir), dir);
        if (c !== 0) return c;
      }
      return 0;
    };
    const byScore = (a: Candidate, b: Candidate): number => (hasWords ? b.score - a.score : 0);
    cands.sort((a, b) => {
      const first = sortFirst ? bySort(a, b) || byScore(a, b) : byScore(a, b) || bySort(a, b);
      return first || a.docid - b.docid;
    });
  }

  #hit(c: Candidate, req: SearchRequest, words: QueryWord[]): Record<string, unknown> {
    const displayed = this.settings.displayedAttributes;
    const retrieve = req.attributesToRetrieve;
    const hit: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.doc)) {
      const shown = displayed.includes('*') || displayed.includes(k);
      const wanted = retrieve.includes('*') || retrieve.includes(k);
      if (shown && wanted) hit[k] = structuredClone(v);
    }
    if (req.attributesToHighlight.length > 0) {
      const all = req.attributesToHighlight.includes('*');
      const formatted: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(hit)) {
        const mark = all || req.attributesToHighlight.includes(k);
        formatted[k] = formatValue(v, mark ? words : [], req.pre, req.post);
      }
      hit._formatted = formatted;
    }
    if (req.showRankingScore) hit._rankingScore = c.score;
    return hit;
  }

  #facets(cands: Candidate[], names: string[]): Record<string, unknown> {
    const distribution: Record<string, Record<string, number>> = {};
    const stats: Record<string, { min: number; max: number }> = {};
    const maxValues = this.settings.faceting.maxValuesPerFacet;
    for (const name of names) {
      const counts = new Map<string, { label: string; count: number; num?: number }>();
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const { doc } of cands) {
        const seen = new Set<string>();
        for (const v of lookupField(doc, name).values) {
          let key: string;
          let label: string;
          let num: number | undefined;
          if (typeof v === 'number') {
            key = `n:${v}`;
            label = String(v);
            num = v;
            min = Math.min(min, v);
            max = Math.max(max, v);
          } else if (typeof v === 'string' || typeof v === 'boolean') {
            label = String(v);
            key = `s:${normalizeFacet(label)}`;
          } else continue;
          if (seen.has(key)) continue;
          seen.add(key);
          const entry = counts.get(key);
          if (entry) entry.count++;
          else counts.set(key, num === undefined ? { label, count: 1 } : { label, count: 1, num });
        }
      }
      const sorted = [...counts.values()].sort((a, b) => {
        if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
        if (a.num !== undefined) return -1;
        if (b.num !== undefined) return 1;
        return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
      });
      distribution[name] = Object.fromEntries(sorted.slice(0, maxValues).map((e) => [e.label, e.count]));
      if (min <= max) stats[name] = { min, max };
    }
    return { facetDistribution: distribution, facetStats: stats };
  }
}

type SortKey = { rank: 0 | 1 | 2; value: number | string };

function sortKey(doc: Record<string, unknown>, field: string, dir: 'asc' | 'desc'): SortKey {
  const values = lookupField(doc, field).values;
  const nums = values.filter((v): v is number => typeof v === 'number');
  const strs = values
    .filter((v) => typeof v === 'string' || typeof v === 'boolean')
    .map((v) => normalizeFacet(String(v)));
  // Numbers sort before strings and documents without a value come last, in both directions;
  // an array sorts by its smallest element ascending and its largest descending.
  const pick = <T>(xs: T[]): T =>
    [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[dir === 'asc' ? 0 : xs.length - 1]!;
  if (nums.length > 0) return { rank: 0, value: pick(nums) };
  if (strs.length > 0) return { rank: 1, value: pick(strs) };
  return { rank: 2, value: 0 };
}

function compareSortKeys(a: SortKey, b: SortKey, dir: 'asc' | 'desc'): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.rank === 2) return 0;
  const c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  return dir === 'asc' ? c : -c;
}
