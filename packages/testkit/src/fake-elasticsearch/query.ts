import { analyze, type QueryTerm, termMatches } from './analyze';
import { dateBound } from './date-math';
import { badRequest, EsError, parsingError } from './errors';
import {
  docValue,
  fieldPaths,
  globMatch,
  isIndexed,
  NUMERIC,
  type ResolvedField,
  resolveField,
  sourceValues,
} from './mapping';
import { queryStringToDsl } from './query-string';
import { TextStats } from './scoring';
import type { EsIndex, StoredDoc } from './store';

/**
 * Query DSL evaluation over one index's searchable documents: `match_all`, `match_none`, `ids`,
 * `term`, `terms`, `range` (numbers, dates with date math, strings), `exists`, `prefix`, `match`,
 * `match_bool_prefix`, `multi_match` (`best_fields`, `most_fields`, `cross_fields`, `bool_prefix`,
 * `phrase_prefix`; `operator`, `lenient`, `field^boost`, `*` patterns), `query_string` (see
 * query-string.ts) and `bool` (`must`/`filter`/`should`/`must_not`, `minimum_should_match`).
 * Scores are BM25 over the index's documents (k1 1.2, b 0.75); filter context scores 0.
 */
export type Matcher = (id: string, doc: StoredDoc) => number | undefined;

type Dsl = Record<string, unknown>;

export interface QueryContext {
  idx: EsIndex;
  /** Query terms per field, for highlighting. */
  highlightTerms: Map<string, QueryTerm[]>;
}

function single(q: unknown, name: string): [string, unknown] {
  if (!q || typeof q !== 'object')
    throw parsingError(`[${name}] query malformed, no start_object after query name`);
  const entries = Object.entries(q as Dsl).filter(([k]) => k !== 'boost' && k !== '_name');
  if (entries.length !== 1)
    throw parsingError(
      `[${name}] query doesn't support multiple fields, found [${entries.map(([k]) => k).join('] and [')}]`,
    );
  return entries[0]!;
}

export function compileQuery(query: unknown, ctx: QueryContext): Matcher {
  const { idx } = ctx;
  const field = (name: string): ResolvedField | undefined => {
    const f = resolveField(idx.mappings, name);
    return f && isIndexed(f) ? f : undefined;
  };
  const valuesOf = (doc: StoredDoc, f: ResolvedField) =>
    sourceValues(doc.source, f.sourcePath)
      .map((v) => docValue(f, v))
      .filter((v) => v !== undefined);
  const stats = new TextStats(idx);
  const tokensOf = stats.tokensOf;
  const bm25 = stats.bm25;
  const remember = (name: string, qs: QueryTerm[]) => {
    const list = ctx.highlightTerms.get(name) ?? [];
    list.push(...qs);
    ctx.highlightTerms.set(name, list);
  };

  /** A comparable form of a query value for the field's type (400 when it cannot be parsed). */
  const queryValue = (
    f: ResolvedField,
    name: string,
    v: unknown,
    lenient = false,
  ): number | string | boolean | undefined => {
    if (NUMERIC.has(f.type)) {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      if (!Number.isFinite(n)) {
        if (lenient) return undefined;
        throw new EsError(
          400,
          'query_shard_exception',
          `failed to create query: For input string: "${String(v)}"`,
          {
            index: idx.name,
            caused_by: { type: 'number_format_exception', reason: `For input string: "${String(v)}"` },
          },
        );
      }
      return n;
    }
    if (f.type === 'date') {
      const ms = dateBound(v, false);
      if (ms === undefined) {
        if (lenient) return undefined;
        throw new EsError(
          400,
          'query_shard_exception',
          `failed to create query: failed to parse date field [${String(v)}] with format [strict_date_optional_time||epoch_millis]`,
          { index: idx.name },
        );
      }
      return ms;
    }
    if (f.type === 'boolean') {
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      if (lenient) return undefined;
      throw new EsError(
        400,
        'query_shard_exception',
        `failed to create query: Can't parse boolean value [${String(v)}], expected [true] or [false]`,
        { index: idx.name },
      );
    }
    void name;
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  };

  const textMatch = (
    name: string,
    text: string,
    opts: { operator?: string; prefixLast?: boolean; lenient?: boolean; phrasePrefix?: boolean },
  ): Matcher | undefined => {
    const f = field(name);
    if (!f) return undefined;
    if (f.type === 'text') {
      const toks = analyze(text);
      const qs: QueryTerm[] = toks.map((t, i) => ({
        term: t.term,
        prefix: (opts.prefixLast || opts.phrasePrefix) === true && i === toks.length - 1,
      }));
      if (qs.length === 0) return () => undefined;
      remember(name, qs);
      const and = opts.operator?.toLowerCase() === 'and' || opts.phrasePrefix === true;
      return (id, doc) => {
        let score = 0;
        let matched = 0;
        for (const q of qs) {
          const s = bm25(name, f, id, doc, q);
          if (s > 0) {
            matched++;
            score += s;
          }
        }
        if (matched === 0 || (and && matched < qs.length)) return undefined;
        return score;
      };
    }
    const target = queryValue(f, name, text, opts.lenient);
    if (target === undefined) return undefined;
    if (f.type === 'keyword') remember(name, [{ term: String(target).toLowerCase(), prefix: false }]);
    return (_id, doc) =>
      valuesOf(doc, f).some(
        (v) => v === target || (opts.prefixLast && typeof v === 'string' && v.startsWith(String(target))),
      )
        ? 1
        : undefined;
  };

  const expandFields = (fields: unknown): { name: string; boost: number }[] => {
    const list = Array.isArray(fields) && fields.length > 0 ? (fields as string[]) : ['*'];
    const all = fieldPaths(idx.mappings);
    const out: { name: string; boost: number }[] = [];
    for (const spec of list) {
      const [name, boost] = String(spec).split('^');
      const b = boost === undefined ? 1 : Number(boost);
      if (name!.includes('*')) {
        for (const p of all) if (globMatch(name!, p)) out.push({ name: p, boost: b });
      } else out.push({ name: name!, boost: b });
    }
    return out;
  };

  const compile = (q: unknown): Matcher => {
    const [kind, body] = single(q, 'query');
    const b = (body ?? {}) as Dsl;
    const boost = typeof b.boost === 'number' ? b.boost : 1;
    switch (kind) {
      case 'match_all':
        return () => boost;
      case 'match_none':
        return () => undefined;
      case 'ids': {
        const values = new Set((b.values as string[]) ?? []);
        return (id) => (values.has(id) ? boost : undefined);
      }
      case 'term':
      case 'prefix': {
        const [name, spec] = single(b, kind);
        const raw = spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Dsl).value : spec;
        const ci = spec && typeof spec === 'object' && (spec as Dsl).case_insensitive === true;
        const f = field(name);
        if (!f) return () => undefined;
        if (f.type === 'text') {
          const qt: QueryTerm = { term: String(raw), prefix: kind === 'prefix' };
          remember(name, [qt]);
          return (id, doc) =>
            tokensOf(id, doc, f, name).some((t) => termMatches(qt, t)) ? boost : undefined;
        }
        const target = queryValue(f, name, raw);
        if (kind === 'prefix')
          return (_id, doc) =>
            valuesOf(doc, f).some((v) => typeof v === 'string' && v.startsWith(String(target)))
              ? boost
              : undefined;
        const eq = (v: unknown) =>
          v === target || (ci && typeof v === 'string' && v.toLowerCase() === String(target).toLowerCase());
        return (_id, doc) => (valuesOf(doc, f).some(eq) ? boost : undefined);
      }
      case 'terms': {
        const entries = Object.entries(b).filter(([k]) => k !== 'boost' && k !== '_name');
        if (entries.length !== 1 || !Array.isArray(entries[0]![1]))
          throw parsingError('[terms] query requires a field with an array of values');
        const [name, values] = entries[0] as [string, unknown[]];
        const f = field(name);
        if (!f) return () => undefined;
        if (f.type === 'text') {
          const set = new Set(values.map(String));
          return (id, doc) => (tokensOf(id, doc, f, name).some((t) => set.has(t)) ? boost : undefined);
        }
        const set = new Set(values.map((v) => queryValue(f, name, v)));
        return (_id, doc) => (valuesOf(doc, f).some((v) => set.has(v)) ? boost : undefined);
      }
      case 'range': {
        const [name, spec] = single(b, 'range');
        const r = (spec ?? {}) as Dsl;
        const f = field(name);
        if (!f) return () => undefined;
        const bound = (k: string, roundUp: boolean) => {
          if (r[k] === undefined || r[k] === null) return undefined;
          if (f.type === 'date') {
            const ms = dateBound(r[k], roundUp);
            if (ms === undefined)
              throw new EsError(
                400,
                'parse_exception',
                `failed to parse date field [${String(r[k])}] with format [strict_date_optional_time||epoch_millis]`,
              );
            return ms;
          }
          return queryValue(f, name, r[k]);
        };
        const gt = bound('gt', true);
        const gte = bound('gte', false);
        const lt = bound('lt', false);
        const lte = bound('lte', true);
        const within = (v: unknown) =>
          (gt === undefined || (v as number) > (gt as number)) &&
          (gte === undefined || (v as number) >= (gte as number)) &&
          (lt === undefined || (v as number) < (lt as number)) &&
          (lte === undefined || (v as number) <= (lte as number));
        return (id, doc) => {
          const vals = f.type === 'text' ? tokensOf(id, doc, f, name) : valuesOf(doc, f);
          return vals.some(within) ? boost : undefined;
        };
      }
      case 'exists': {
        const name = String(b.field ?? '');
        if (!name) throw parsingError('[exists] must be provided with a [field]');
        const names = name.includes('*')
          ? fieldPaths(idx.mappings).filter((p) => globMatch(name, p))
          : [name];
        const fs = names.map(field).filter((f): f is ResolvedField => f !== undefined);
        return (_id, doc) => (fs.some((f) => valuesOf(doc, f).length > 0) ? boost : undefined);
      }
      case 'match':
      case 'match_bool_prefix':
      case 'match_phrase_prefix': {
        const [name, spec] = single(b, kind);
        const s = spec && typeof spec === 'object' ? (spec as Dsl) : { query: spec };
        const m = textMatch(name, String(s.query ?? ''), {
          operator: s.operator as string | undefined,
          prefixLast: kind === 'match_bool_prefix',
          phrasePrefix: kind === 'match_phrase_prefix',
          lenient: s.lenient === true,
        });
        return m ?? (() => undefined);
      }
      case 'multi_match': {
        const type = String(b.type ?? 'best_fields');
        const text = String(b.query ?? '');
        const fields = expandFields(b.fields);
        const opts = {
          operator: b.operator as string | undefined,
          prefixLast: type === 'bool_prefix',
          phrasePrefix: type === 'phrase_prefix',
          lenient: b.lenient === true,
        };
        if (
          type === 'cross_fields' ||
          ((type === 'bool_prefix' || type === 'most_fields') &&
            String(opts.operator).toLowerCase() === 'and')
        ) {
          // Every term must be found in one of the fields (the fields act as one big field).
          const toks = analyze(text);
          const perTerm = toks.map((t, i) =>
            fields
              .map(({ name, boost: fb }) => {
                const m = textMatch(name, t.term, {
                  ...opts,
                  prefixLast: opts.prefixLast && i === toks.length - 1,
                  operator: 'or',
                });
                return m
                  ? (id: string, d: StoredDoc) => {
                      const s = m(id, d);
                      return s === undefined ? undefined : s * fb;
                    }
                  : undefined;
              })
              .filter((m): m is Matcher => m !== undefined),
          );
          return (id, doc) => {
            let total = 0;
            for (const ms of perTerm) {
              let best: number | undefined;
              for (const m of ms) {
                const s = m(id, doc);
                if (s !== undefined) best = (best ?? 0) + s;
              }
              if (best === undefined) return undefined;
              total += best;
            }
            return perTerm.length === 0 ? undefined : total * boost;
          };
        }
        const ms = fields
          .map(({ name, boost: fb }) => ({ m: textMatch(name, text, opts), fb }))
          .filter((x): x is { m: Matcher; fb: number } => x.m !== undefined);
        return (id, doc) => {
          let best: number | undefined;
          let sum = 0;
          for (const { m, fb } of ms) {
            const s = m(id, doc);
            if (s === undefined) continue;
            best = Math.max(best ?? 0, s * fb);
            sum += s * fb;
          }
          if (best === undefined) return undefined;
          return (type === 'most_fields' ? sum : best) * boost;
        };
      }
      case 'query_string': {
        if (typeof b.query !== 'string') throw parsingError('[query_string] requires query value');
        const op = String(b.default_operator ?? 'or').toLowerCase() === 'and' ? 'and' : 'or';
        const def = Array.isArray(b.fields)
          ? (b.fields as string[])
          : typeof b.default_field === 'string'
            ? b.default_field
            : ['*'];
        return compile(queryStringToDsl(b.query, def, op));
      }
      case 'bool': {
        const list = (k: string): Matcher[] => {
          const v = b[k];
          if (v === undefined) return [];
          return (Array.isArray(v) ? v : [v]).map(compile);
        };
        const must = list('must');
        const filter = list('filter');
        const should = list('should');
        const mustNot = list('must_not');
        const msm =
          b.minimum_should_match === undefined
            ? must.length + filter.length === 0 && should.length > 0
              ? 1
              : 0
            : Number(b.minimum_should_match);
        return (id, doc) => {
          let score = 0;
          for (const m of must) {
            const s = m(id, doc);
            if (s === undefined) return undefined;
            score += s;
          }
          for (const m of filter) if (m(id, doc) === undefined) return undefined;
          for (const m of mustNot) if (m(id, doc) !== undefined) return undefined;
          let matched = 0;
          for (const m of should) {
            const s = m(id, doc);
            if (s !== undefined) {
              matched++;
              score += s;
            }
          }
          if (matched < msm) return undefined;
          return score * boost;
        };
      }
      case 'constant_score': {
        const inner = compile(b.filter);
        return (id, doc) => (inner(id, doc) === undefined ? undefined : boost);
      }
      default:
        throw parsingError(`unknown query [${kind}]`);
    }
  };

  if (query === undefined || query === null) return () => 1;
  if (typeof query !== 'object') throw badRequest('query must be an object', 'parsing_exception');
  return compile(query);
}
