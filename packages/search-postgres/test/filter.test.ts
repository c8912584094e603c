import { isIntegrationError, type NormalizedFilter, normalizeFilter, parseSort } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import {
  postgresJsonPath,
  postgresSortKeys,
  postgresTextPath,
  toPostgresFilter,
  toPostgresSort,
} from '../src/filter.ts';

const tr = (filter: unknown, paramOffset = 0) =>
  toPostgresFilter(normalizeFilter(filter), { doc: 'd.doc', paramOffset });

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isIntegrationError(err) ? err.code : 'not an IntegrationError';
  }
  return undefined;
}

/** Every scalar a statement binds: raw parameters and the strings inside jsonb ones. */
function boundValues(params: unknown[]): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    else out.push(v);
  };
  for (const p of params) {
    out.push(p);
    if (typeof p === 'string' && /^[[{]/.test(p)) walk(JSON.parse(p));
  }
  return out;
}

/** The `$n` placeholders of a statement, in order of first appearance. */
const placeholders = (sql: string) => [...new Set(sql.match(/\$\d+/g) ?? [])];

describe('toPostgresFilter', () => {
  it('an empty filter is TRUE with no parameters', () => {
    expect(toPostgresFilter([], { doc: 'd.doc' })).toEqual({ sql: 'TRUE', params: [] });
  });

  it('eq is JSON containment of the value or of an array holding it, both bound as jsonb', () => {
    const { sql, params } = tr({ field: 'price', op: 'eq', value: 12.5 });
    expect(sql).toBe('((d.doc @> $1::jsonb OR d.doc @> $2::jsonb))');
    expect(params).toEqual(['{"price":12.5}', '{"price":[12.5]}']);
  });

  it('eq on a nested path nests the containment document', () => {
    const { params } = tr({ field: 'a.b', op: 'eq', value: 'x' });
    expect(params).toEqual(['{"a":{"b":"x"}}', '{"a":{"b":["x"]}}']);
  });

  it('neq and nin are negations, so documents without the field pass', () => {
    expect(tr({ field: 'c', op: 'neq', value: true }).sql).toMatch(
      /^\(NOT \(d\.doc @> \$1::jsonb OR d\.doc @> \$2::jsonb\)\)$/,
    );
    const nin = tr({ field: 'c', op: 'nin', value: ['a', 1, false] });
    expect(nin.sql.startsWith('(NOT COALESCE(')).toBe(true);
    expect(nin.params).toEqual(['["a",1,false]']);
  });

  it('in binds the list once and tests scalars and array elements against it', () => {
    const { sql, params } = tr({ field: 'tags', op: 'in', value: ['x', 'y'] });
    expect(params).toEqual(['["x","y"]']);
    expect(placeholders(sql)).toEqual(['$1']);
    expect(sql).toContain("jsonb_typeof(d.doc -> 'tags') = 'array'");
    expect(sql).toContain('jsonb_array_elements');
  });

  it('range operators compare numbers as numeric and strings in "C" order, by the type of the value', () => {
    const num = tr({ field: 'price', op: 'gte', value: 10 });
    expect(num.params).toEqual([10]);
    expect(num.sql).toContain('>= $1::numeric');
    expect(num.sql).toContain("jsonb_typeof(d.doc -> 'price') = 'number'");
    const str = tr({ field: 'name', op: 'lt', value: 'm' });
    expect(str.params).toEqual(['m']);
    expect(str.sql).toContain('COLLATE "C" < $1::text');
    const between = tr({ field: 'at', op: 'between', value: [new Date(1000), new Date(2000)] });
    expect(between.params).toEqual([1000, 2000]);
    expect(between.sql).toContain('>= $1::numeric AND');
    expect(between.sql).toContain('<= $2::numeric');
  });

  it('exists is "present and not JSON null"; exists false its negation', () => {
    expect(tr({ field: 'a', op: 'exists' }).sql).toBe(
      "(COALESCE(jsonb_typeof(d.doc -> 'a') <> 'null', false))",
    );
    expect(tr({ field: 'a', op: 'exists', value: false }).sql).toBe(
      "(NOT COALESCE(jsonb_typeof(d.doc -> 'a') <> 'null', false))",
    );
  });

  it('AND of ORs keeps the structure and numbers parameters from paramOffset + 1', () => {
    const { sql, params } = tr(
      {
        and: [
          {
            or: [
              { field: 'a', op: 'eq', value: 1 },
              { field: 'b', op: 'gt', value: 2 },
            ],
          },
          { field: 'c', op: 'lt', value: 3 },
        ],
      },
      4,
    );
    expect(placeholders(sql)).toEqual(['$5', '$6', '$7', '$8']);
    expect(params).toEqual(['{"a":1}', '{"a":[1]}', 2, 3]);
    expect(sql).toMatch(/^\(\(.+\) OR \(.+\)\) AND \(.+\)$/);
  });

  it('values never enter the SQL text: the statement is the same whatever the value holds', () => {
    const nasty = [`x' OR '1'='1`, `"); DROP TABLE t; --`, '$1', '\\', "$$ $tag$ '' \\'", '☕ ü'];
    for (const op of ['eq', 'neq', 'gt', 'lte', 'in', 'nin', 'between'] as const) {
      const wrap = (v: string) => (op === 'in' || op === 'nin' ? [v] : op === 'between' ? [v, v] : v);
      const plain = tr({ field: 'brand', op, value: wrap('plain') });
      for (const value of nasty) {
        const { sql, params } = tr({ field: 'brand', op, value: wrap(value) });
        expect(sql, `${op} ${value}`).toBe(plain.sql);
        expect(boundValues(params), `${op} ${value}`).toContain(value);
      }
    }
  });

  it('refuses a field name outside the portable rule (it would be pasted as a literal) with IN101', () => {
    const forged: NormalizedFilter = [[{ field: "a') OR (1=1", op: 'eq', value: 1 }]];
    expect(codeOf(() => toPostgresFilter(forged, { doc: 'd.doc' }))).toBe('IN101');
    expect(codeOf(() => postgresJsonPath('d.doc', "x'"))).toBe('IN101');
    expect(codeOf(() => postgresSortKeys('d.doc', 'a b'))).toBe('IN101');
  });

  it('refuses NUL characters in values with IN101 (Postgres cannot store or compare them)', () => {
    expect(codeOf(() => tr({ field: 'a', op: 'eq', value: 'x\u0000' }))).toBe('IN101');
    expect(codeOf(() => tr({ field: 'a', op: 'in', value: ['ok', '\u0000'] }))).toBe('IN101');
  });
});

describe('paths and sort', () => {
  it('builds jsonb and text paths for nested fields', () => {
    expect(postgresJsonPath('d.doc', 'a')).toBe("d.doc -> 'a'");
    expect(postgresJsonPath('d.doc', 'a.b.c')).toBe("d.doc -> 'a' -> 'b' -> 'c'");
    expect(postgresTextPath('p.doc', 'a')).toBe("p.doc ->> 'a'");
    expect(postgresTextPath('p.doc', 'a.b')).toBe("p.doc -> 'a' ->> 'b'");
  });

  it('sorts by a numeric then a text key per field, missing values last in both directions', () => {
    expect(toPostgresSort([], { doc: 'd.doc' })).toBe('');
    const sql = toPostgresSort(parseSort(['price:desc', 'name']), { doc: 'd.doc' });
    const items = sql.split(/, (?=\(CASE)/);
    expect(items).toHaveLength(4);
    expect(items[0]).toMatch(/::numeric END\) DESC NULLS LAST$/);
    expect(items[1]).toMatch(/COLLATE "C"\) DESC NULLS LAST$/);
    expect(items[2]).toMatch(/ASC NULLS LAST$/);
    expect(items[3]).toContain("d.doc -> 'name'");
    expect(postgresSortKeys('doc', 'price')[0]).toBe(
      "(CASE WHEN jsonb_typeof(doc -> 'price') = 'number' THEN (doc -> 'price')::numeric END)",
    );
  });
});
