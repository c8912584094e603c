import { highlightText, type QueryTerm } from './analyze';
import { badRequest, EsError, FIELDDATA_REASON } from './errors';
import { docValue, globMatch, type ResolvedField, resolveField, sourceValues } from './mapping';
import { compileQuery } from './query';
import type { EsIndex, StoredDoc } from './store';

/**
 * `_search`, `_count` and `_delete_by_query` matching over the searchable view of one or more
 * indices: `query`, `from`/`size` (max_result_window 10 000), `sort` (fields with
 * `order`/`missing`/`unmapped_type`/`mode`, `_score`, `_doc`), `track_total_hits` (true, false or
 * a number: 10 000 by default, `relation: "gte"` past it), `_source` (false or field list),
 * `aggs`/`aggregations` of type `terms` (`field`, `size`, `min_doc_count`, `order` by `_count` or
 * `_key`), `value_count`, `min`/`max`, and `highlight` (`fields` with `number_of_fragments`,
 * `pre_tags`/`post_tags`, `require_field_match`).
 */
export interface Match {
  idx: EsIndex;
  id: string;
  doc: StoredDoc;
  score: number;
  seq: number;
  highlightTerms: Map<string, QueryTerm[]>;
}

type Dsl = Record<string, unknown>;
const MAX_RESULT_WINDOW = 10_000;

export function matchAll(list: EsIndex[], query: unknown): Match[] {
  const out: Match[] = [];
  let seq = 0;
  for (const idx of list) {
    const highlightTerms = new Map<string, QueryTerm[]>();
    const m = compileQuery(query, { idx, highlightTerms });
    for (const [id, doc] of idx.searchable) {
      const score = m(id, doc);
      if (score !== undefined) out.push({ idx, id, doc, score, seq: seq++, highlightTerms });
    }
  }
  return out;
}

interface SortSpec {
  field: string;
  order: 'asc' | 'desc';
  missing: unknown;
  mode?: string;
  unmappedType?: string;
}

function parseSort(sort: unknown): SortSpec[] {
  if (sort === undefined) return [];
  const list = Array.isArray(sort) ? sort : [sort];
  return list.map((s): SortSpec => {
    if (typeof s === 'string') {
      const [field, order] = s.split(':');
      return {
        field: field!,
        order: (order ?? (field === '_score' ? 'desc' : 'asc')) as 'asc' | 'desc',
        missing: '_last',
      };
    }
    const [field, spec] = Object.entries(s as Dsl)[0] ?? [];
    if (!field) throw badRequest('empty sort', 'parsing_exception');
    const o = typeof spec === 'string' ? { order: spec } : ((spec ?? {}) as Dsl);
    const order = String(o.order ?? (field === '_score' ? 'desc' : 'asc'));
    if (order !== 'asc' && order !== 'desc')
      throw badRequest(`Unknown SortOrder [${order}]`, 'x_content_parse_exception');
    return {
      field,
      order,
      missing: o.missing ?? '_last',
      mode: o.mode as string | undefined,
      unmappedType: o.unmapped_type as string | undefined,
    };
  });
}

function sortValue(m: Match, s: SortSpec): unknown {
  if (s.field === '_score') return m.score;
  if (s.field === '_doc') return m.seq;
  const f = resolveField(m.idx.mappings, s.field);
  if (!f) {
    if (s.unmappedType) return undefined;
    throw new EsError(400, 'query_shard_exception', `No mapping found for [${s.field}] in order to sort on`, {
      index: m.idx.name,
    });
  }
  if (f.type === 'text') throw badRequest(FIELDDATA_REASON(s.field));
  const values = sourceValues(m.doc.source, f.sourcePath)
    .map((v) => docValue(f, v))
    .filter((v) => v !== undefined) as (number | string | boolean)[];
  if (values.length === 0) return undefined;
  const nums = values.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
  const mode = s.mode ?? (s.order === 'asc' ? 'min' : 'max');
  return nums.reduce((a, b) => ((mode === 'min' ? b < a : b > a) ? b : a));
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

export function sortMatches(
  matches: Match[],
  sort: unknown,
): { sorted: Match[]; values?: Map<Match, unknown[]> } {
  const specs = parseSort(sort);
  if (specs.length === 0) {
    return { sorted: [...matches].sort((a, b) => b.score - a.score || a.seq - b.seq) };
  }
  const values = new Map<Match, unknown[]>();
  for (const m of matches)
    values.set(
      m,
      specs.map((s) => sortValue(m, s)),
    );
  const sorted = [...matches].sort((a, b) => {
    const va = values.get(a)!;
    const vb = values.get(b)!;
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      const x = va[i];
      const y = vb[i];
      if (x === undefined || y === undefined) {
        if (x === y) continue;
        const first = s.missing === '_first';
        return x === undefined ? (first ? -1 : 1) : first ? 1 : -1;
      }
      const c = compare(x, y) * (s.order === 'desc' ? -1 : 1);
      if (c !== 0) return c;
    }
    return a.seq - b.seq;
  });
  return { sorted, values };
}

function aggField(list: EsIndex[], name: string): (m: Match) => (number | string | boolean)[] {
  for (const idx of list) {
    const f = resolveField(idx.mappings, name);
    if (f?.type === 'text') throw badRequest(FIELDDATA_REASON(name));
  }
  return (m) => {
    const f: ResolvedField | undefined = resolveField(m.idx.mappings, name);
    if (!f) return [];
    const vals = sourceValues(m.doc.source, f.sourcePath)
      .map((v) => docValue(f, v))
      .filter((v) => v !== undefined) as (number | string | boolean)[];
    return [...new Set(vals)];
  };
}

export function aggregate(list: EsIndex[], matches: Match[], aggs: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries((aggs ?? {}) as Dsl)) {
    const s = spec as Dsl;
    if (s.terms) {
      const t = s.terms as Dsl;
      const values = aggField(list, String(t.field));
      const counts = new Map<number | string | boolean, number>();
      for (const m of matches) for (const v of values(m)) counts.set(v, (counts.get(v) ?? 0) + 1);
      const size = typeof t.size === 'number' ? t.size : 10;
      const minDocCount = typeof t.min_doc_count === 'number' ? t.min_doc_count : 1;
      const order = (t.order ?? { _count: 'desc' }) as Dsl;
      const [ok, dir] = Object.entries(Array.isArray(order) ? (order[0] as Dsl) : order)[0] ?? [
        '_count',
        'desc',
      ];
      const buckets = [...counts.entries()]
        .filter(([, c]) => c >= minDocCount)
        .sort((a, b) => {
          const byCount = (ok === '_count' ? (dir === 'asc' ? 1 : -1) * (a[1] - b[1]) : 0) || 0;
          if (byCount !== 0) return byCount;
          return compare(a[0], b[0]) * (ok === '_key' && dir === 'desc' ? -1 : 1);
        });
      const shown = buckets.slice(0, size);
      out[name] = {
        doc_count_error_upper_bound: 0,
        sum_other_doc_count: buckets.slice(size).reduce((n, [, c]) => n + c, 0),
        buckets: shown.map(([key, doc_count]) =>
          typeof key === 'boolean'
            ? { key: key ? 1 : 0, key_as_string: String(key), doc_count }
            : { key, doc_count },
        ),
      };
    } else if (s.value_count || s.min || s.max) {
      const kind = s.value_count ? 'value_count' : s.min ? 'min' : 'max';
      const values = aggField(list, String((s[kind] as Dsl).field));
      const all = matches.flatMap(values).map((v) => (typeof v === 'boolean' ? Number(v) : v));
      if (kind === 'value_count') out[name] = { value: all.length };
      else {
        const nums = all.filter((v): v is number => typeof v === 'number');
        out[name] = {
          value: nums.length === 0 ? null : kind === 'min' ? Math.min(...nums) : Math.max(...nums),
        };
      }
    } else {
      throw badRequest(
        `Unknown aggregation type [${Object.keys(s)[0]}] did you mean [terms]?`,
        'parsing_exception',
      );
    }
  }
  return out;
}

function highlightHit(m: Match, h: Dsl): Record<string, string[]> | undefined {
  const pre = ((h.pre_tags as string[]) ?? ['<em>'])[0]!;
  const post = ((h.post_tags as string[]) ?? ['</em>'])[0]!;
  const fields = (
    Array.isArray(h.fields) ? Object.assign({}, ...(h.fields as Dsl[])) : (h.fields ?? {})
  ) as Dsl;
  const out: Record<string, string[]> = {};
  for (const [pattern, spec] of Object.entries(fields)) {
    const opts = { ...h, ...((spec ?? {}) as Dsl) };
    const names = pattern.includes('*')
      ? [...m.highlightTerms.keys()].filter((k) => globMatch(pattern, k))
      : [pattern];
    for (const name of names) {
      const requireMatch = opts.require_field_match !== false;
      const qs = requireMatch ? (m.highlightTerms.get(name) ?? []) : [...m.highlightTerms.values()].flat();
      if (qs.length === 0) continue;
      const f = resolveField(m.idx.mappings, name);
      if (!f || (f.type !== 'text' && f.type !== 'keyword')) continue;
      const fragments: string[] = [];
      for (const v of sourceValues(m.doc.source, f.sourcePath)) {
        if (typeof v !== 'string') continue;
        const marked =
          f.type === 'keyword'
            ? qs.some((q) => q.term === v.toLowerCase())
              ? pre + v + post
              : undefined
            : highlightText(v, qs, pre, post);
        if (marked !== undefined) fragments.push(marked);
      }
      const n = typeof opts.number_of_fragments === 'number' ? opts.number_of_fragments : 5;
      if (fragments.length > 0) out[name] = n === 0 ? fragments : fragments.slice(0, n);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function project(source: Record<string, unknown>, spec: unknown): Record<string, unknown> | undefined {
  if (spec === false) return undefined;
  if (spec === undefined || spec === true) return source;
  const includes = Array.isArray(spec)
    ? spec
    : typeof spec === 'string'
      ? [spec]
      : ((spec as Dsl).includes as string[] | undefined);
  if (!includes) return source;
  return Object.fromEntries(Object.entries(source).filter(([k]) => includes.some((p) => globMatch(p, k))));
}

export function search(list: EsIndex[], body: Dsl, params: Record<string, string>, started: number): Dsl {
  const from = Number(body.from ?? params.from ?? 0);
  const size = Number(body.size ?? params.size ?? 10);
  if (!Number.isInteger(from) || from < 0)
    throw badRequest(`[from] parameter cannot be negative but was [${from}]`);
  if (!Number.isInteger(size) || size < 0)
    throw badRequest(`[size] parameter cannot be negative but was [${size}]`);
  if (from + size > MAX_RESULT_WINDOW) {
    throw badRequest(
      `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`,
    );
  }
  const matches = matchAll(list, body.query);
  const sortParam = body.sort ?? (params.sort ? params.sort.split(',') : undefined);
  const { sorted, values } = sortMatches(matches, sortParam);
  const page = sorted.slice(from, from + size);
  const tth =
    body.track_total_hits ??
    (params.track_total_hits === undefined
      ? 10_000
      : params.track_total_hits === 'true'
        ? true
        : params.track_total_hits === 'false'
          ? false
          : Number(params.track_total_hits));
  const scored = values === undefined || body.track_scores === true;
  const hits: Dsl = {
    max_score: scored && page.length > 0 ? Math.max(...sorted.map((m) => m.score)) : null,
    hits: page.map((m) => {
      const hit: Dsl = { _index: m.idx.name, _id: m.id, _score: scored ? m.score : null };
      const src = project(m.doc.source, body._source);
      if (src !== undefined) hit._source = src;
      if (body.highlight) {
        const hl = highlightHit(m, body.highlight as Dsl);
        if (hl) hit.highlight = hl;
      }
      if (values)
        hit.sort = values
          .get(m)!
          .map((v) => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v));
      return hit;
    }),
  };
  if (tth !== false) {
    const limit = tth === true ? Number.POSITIVE_INFINITY : Number(tth);
    hits.total =
      matches.length > limit ? { value: limit, relation: 'gte' } : { value: matches.length, relation: 'eq' };
  }
  const res: Dsl = {
    took: Date.now() - started,
    timed_out: false,
    _shards: { total: list.length, successful: list.length, skipped: 0, failed: 0 },
    hits,
  };
  const aggs = body.aggs ?? body.aggregations;
  if (aggs) res.aggregations = aggregate(list, matches, aggs);
  return res;
}
