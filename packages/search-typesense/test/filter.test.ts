import { type Filter, isIntegrationError, matchesFilter, normalizeFilter, parseSort } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import {
  quoteTypesenseValue,
  TYPESENSE_FIELDS_FIELD,
  TYPESENSE_VALUES_FIELD,
  toTypesenseFilter,
  toTypesenseSort,
  typesenseFieldToken,
  typesenseHiddenValues,
  typesenseValueToken,
} from '../src/filter.ts';

const TRICKY = 'O\'Reilly "q": `tick` [a, b] && (c || d) \\';
const docs: Record<string, Record<string, unknown>> = {
  a: { id: 'a', name: 'Alpha', price: 10, tags: ['red', 'sale'], category: 'tools', in_stock: true },
  b: { id: 'b', name: 'Beta', price: 25.5, tags: ['blue'], category: TRICKY, in_stock: false },
  c: {
    id: 'c',
    name: 'Gamma',
    price: 40,
    tags: [],
    released: new Date(Date.UTC(2025, 0, 1)),
    dims: { w: 3 },
  },
  d: { id: 'd', name: '12.5', price: 12.5, category: null },
};

/**
 * Evaluates the subset of Typesense `filter_by` the translator emits, with Typesense's semantics
 * (`:!=` is the complement over every document; `&&` and `||` share one precedence, left to
 * right) against the hidden fields and native numbers of a document.
 */
function evaluate(filterBy: string, doc: Record<string, unknown>): boolean {
  const hidden = typesenseHiddenValues(doc);
  const tokens = filterBy.match(/\(|\)|&&|\|\||[^()&|\s][^()&|]*[^()&|\s]|[^()&|\s]/g) ?? [];
  let pos = 0;
  const atom = (): boolean => {
    const t = tokens[pos++]!;
    if (t === '(') {
      const v = expr();
      expect(tokens[pos++]).toBe(')');
      return v;
    }
    const m = /^([A-Za-z_][\w.]*):(=|!=|>=|<=|>|<)?(.*)$/.exec(t);
    if (!m) throw new Error(`cannot parse ${t}`);
    const [, field, op = ':', rawValue] = m;
    if (field === TYPESENSE_VALUES_FIELD || field === TYPESENSE_FIELDS_FIELD) {
      const have: string[] = field === TYPESENSE_VALUES_FIELD ? hidden._values : hidden._fields;
      const wanted = rawValue!.startsWith('[') ? rawValue!.slice(1, -1).split(',') : [rawValue!];
      const hit = wanted.some((w) => have.includes(w.trim()));
      return op === '!=' ? !hit : hit;
    }
    const raw = doc[field!];
    const nums = (Array.isArray(raw) ? raw : [raw])
      .map((v) => (v instanceof Date ? v.getTime() : v))
      .filter((v): v is number => typeof v === 'number');
    const range = /^\[(-?[\d.]+)\.\.(-?[\d.]+)\]$/.exec(rawValue!);
    if (range) return nums.some((n) => n >= Number(range[1]) && n <= Number(range[2]));
    const x = Number(rawValue);
    return nums.some((n) => (op === '>' ? n > x : op === '>=' ? n >= x : op === '<' ? n < x : n <= x));
  };
  const expr = (): boolean => {
    let v = atom();
    while (tokens[pos] === '&&' || tokens[pos] === '||') {
      const op = tokens[pos++];
      const rhs = atom();
      v = op === '&&' ? v && rhs : v || rhs;
    }
    return v;
  };
  const result = expr();
  expect(pos).toBe(tokens.length);
  return result;
}

function numericType(field: string): string | undefined {
  return ['price'].includes(field) ? 'float' : field === 'released' ? 'int64' : undefined;
}

/** The ids a filter selects, through Typesense syntax and through the in-memory evaluator. */
function both(filter: Filter): { typesense: string[]; memory: string[] } {
  const nf = normalizeFilter(filter);
  const filterBy = toTypesenseFilter(nf, { fieldType: numericType });
  const ids = Object.keys(docs);
  const typesense =
    filterBy === null ? [] : filterBy === '' ? ids : ids.filter((id) => evaluate(filterBy, docs[id]!));
  return { typesense, memory: ids.filter((id) => matchesFilter(nf, docs[id]!)) };
}

function expectIN101(run: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(isIntegrationError(error)).toBe(true);
  expect((error as { code: string }).code).toBe('IN101');
  expect((error as Error).message).toMatch(pattern);
}

describe('toTypesenseFilter', () => {
  it('selects the same documents as the in-memory evaluator for every operator', () => {
    const filters: Filter[] = [
      { field: 'category', op: 'eq', value: 'tools' },
      { field: 'category', op: 'eq', value: TRICKY },
      { field: 'category', op: 'neq', value: TRICKY },
      { field: 'tags', op: 'eq', value: 'red' },
      { field: 'tags', op: 'neq', value: 'red' },
      { field: 'price', op: 'eq', value: 12.5 },
      { field: 'name', op: 'eq', value: '12.5' },
      { field: 'in_stock', op: 'eq', value: false },
      { field: 'in_stock', op: 'neq', value: true },
      { field: 'price', op: 'gt', value: 12.5 },
      { field: 'price', op: 'gte', value: 12.5 },
      { field: 'price', op: 'lt', value: 25.5 },
      { field: 'price', op: 'lte', value: 25.5 },
      { field: 'price', op: 'between', value: [12.5, 40] },
      { field: 'price', op: 'between', value: [41, 40] },
      { field: 'released', op: 'gte', value: new Date(Date.UTC(2024, 0, 1)) },
      { field: 'released', op: 'lt', value: Date.UTC(2025, 0, 1) + 0.5 },
      { field: 'category', op: 'in', value: ['tools', TRICKY] },
      { field: 'category', op: 'nin', value: ['tools', 'x'] },
      { field: 'tags', op: 'in', value: ['blue', 'sale'] },
      { field: 'tags', op: 'nin', value: ['blue', 'sale'] },
      { field: 'category', op: 'exists' },
      { field: 'category', op: 'exists', value: false },
      { field: 'tags', op: 'exists' },
      { field: 'dims.w', op: 'eq', value: 3 },
      { field: 'dims', op: 'exists' },
      { field: 'id', op: 'in', value: ['a', 'd'] },
      { field: 'missing', op: 'gt', value: 1 },
      {
        or: [
          { field: 'category', op: 'eq', value: 'tools' },
          { field: 'price', op: 'gt', value: 30 },
        ],
      },
      {
        and: [
          {
            or: [
              { field: 'category', op: 'neq', value: 'tools' },
              { field: 'missing', op: 'lt', value: 3 },
            ],
          },
          { field: 'price', op: 'lt', value: 30 },
        ],
      },
      {
        or: [
          { field: 'missing', op: 'gt', value: 1 },
          { field: 'missing', op: 'lt', value: 1 },
        ],
      },
      // An OR group after another condition: `x && (a || b)` is not `(x && a) || b`.
      {
        and: [
          { field: 'price', op: 'gt', value: 30 },
          {
            or: [
              { field: 'category', op: 'eq', value: 'tools' },
              { field: 'in_stock', op: 'neq', value: true },
            ],
          },
        ],
      },
    ];
    for (const f of filters) {
      const { typesense, memory } = both(f);
      expect(typesense, JSON.stringify(f)).toEqual(memory);
    }
  });

  it('writes equality as hex tokens, so no value needs quoting', () => {
    const nf = normalizeFilter({ field: 'brand', op: 'eq', value: TRICKY });
    expect(toTypesenseFilter(nf)).toBe(`_values:=${typesenseValueToken('brand', TRICKY)}`);
    expect(typesenseValueToken('brand', TRICKY)).toMatch(/^[0-9a-f]{32}$/);
    // Type-strict: the number 1 and the string "1" are different values.
    expect(typesenseValueToken('x', 1)).not.toBe(typesenseValueToken('x', '1'));
    expect(typesenseValueToken('x', true)).not.toBe(typesenseValueToken('x', 'true'));
    expect(typesenseValueToken('x', 'v')).not.toBe(typesenseValueToken('y', 'v'));
  });

  it('parenthesises OR groups and the neq/nin alternatives (Typesense has one precedence for && and ||)', () => {
    const nf = normalizeFilter({
      and: [
        {
          or: [
            { field: 'a', op: 'eq', value: 1 },
            { field: 'b', op: 'gt', value: 2 },
          ],
        },
        { field: 'c', op: 'neq', value: 'x' },
      ],
    });
    const a = typesenseValueToken('a', 1);
    const c = typesenseValueToken('c', 'x');
    expect(toTypesenseFilter(nf)).toBe(
      `(_values:=${a} || b:>2) && (_values:!=${c} || _fields:!=${typesenseFieldToken('c')})`,
    );
    expect(toTypesenseFilter(normalizeFilter({ field: 'n', op: 'nin', value: [1, 1, 2] }))).toBe(
      `(_values:!=[${typesenseValueToken('n', 1)},${typesenseValueToken('n', 2)}] || _fields:!=${typesenseFieldToken('n')})`,
    );
  });

  it('returns "" for no filter and null when no document can match', () => {
    expect(toTypesenseFilter([])).toBe('');
    const fieldType = () => undefined;
    expect(toTypesenseFilter(normalizeFilter({ field: 'p', op: 'gt', value: 1 }), { fieldType })).toBeNull();
    // A condition decided true drops out of the AND.
    expect(
      toTypesenseFilter(
        normalizeFilter({
          and: [
            {
              or: [
                { field: 'p', op: 'gt', value: 1 },
                { field: 'q', op: 'exists' },
              ],
            },
            { field: 'p', op: 'lt', value: 1 },
          ],
        }),
        { fieldType },
      ),
    ).toBeNull();
  });

  it('rounds bounds on integer fields to the equivalent integers (Typesense refuses 2.5 for int64)', () => {
    const fieldType = () => 'int64';
    const t = (f: Filter) => toTypesenseFilter(normalizeFilter(f), { fieldType });
    expect(t({ field: 'n', op: 'gt', value: 2.5 })).toBe('n:>2');
    expect(t({ field: 'n', op: 'gte', value: 2.5 })).toBe('n:>=3');
    expect(t({ field: 'n', op: 'lt', value: 2.5 })).toBe('n:<3');
    expect(t({ field: 'n', op: 'lte', value: 2.5 })).toBe('n:<=2');
    expect(t({ field: 'n', op: 'between', value: [1.5, 3.5] })).toBe('n:[2..3]');
    expect(t({ field: 'n', op: 'between', value: [1.2, 1.8] })).toBeNull();
    expect(t({ field: 'n', op: 'gt', value: -1.5 })).toBe('n:>-2');
    // Large numbers are written out, never in exponent notation.
    expect(toTypesenseFilter(normalizeFilter({ field: 'n', op: 'lt', value: 1e21 }))).toBe(
      'n:<1000000000000000000000',
    );
  });

  it('a range on a string is IN101: Typesense cannot compare strings by range', () => {
    expectIN101(
      () => toTypesenseFilter(normalizeFilter({ field: 'name', op: 'gt', value: 'm' })),
      /cannot filter strings by range/,
    );
    expectIN101(
      () => toTypesenseFilter(normalizeFilter({ field: 'name', op: 'between', value: ['a', 'm'] })),
      /cannot filter strings by range/,
    );
  });
});

describe('typesenseHiddenValues', () => {
  it('lists present paths and every scalar, with dates as epoch ms and nulls absent', () => {
    const h = typesenseHiddenValues({
      id: 'x',
      a: 1,
      b: null,
      c: ['s', 2, true, null, { deep: 1 }],
      d: { e: new Date(5) },
      'bad key': 1,
      _values: ['ignored'],
    });
    expect(new Set(h._fields)).toEqual(new Set(['id', 'a', 'c', 'd', 'd.e'].map(typesenseFieldToken)));
    expect(new Set(h._values)).toEqual(
      new Set([
        typesenseValueToken('id', 'x'),
        typesenseValueToken('a', 1),
        typesenseValueToken('c', 's'),
        typesenseValueToken('c', 2),
        typesenseValueToken('c', true),
        typesenseValueToken('d.e', 5),
      ]),
    );
  });
});

describe('quoteTypesenseValue', () => {
  it('backtick-quotes values for raw filters', () => {
    expect(quoteTypesenseValue('Running Shoes, Men')).toBe('`Running Shoes, Men`');
    expect(quoteTypesenseValue('a && (b)')).toBe('`a && (b)`');
    expect(quoteTypesenseValue('ends\\')).toBe('`ends\\ `');
  });

  it('a value with a backtick, or an empty value, cannot be quoted: IN101', () => {
    expectIN101(() => quoteTypesenseValue('a `b` c'), /backtick/);
    expectIN101(() => quoteTypesenseValue('  '), /empty/);
  });
});

describe('toTypesenseSort', () => {
  it('puts documents without the field last in both directions', () => {
    expect(toTypesenseSort(parseSort(['price:asc', 'name:desc']))).toBe(
      'price(missing_values: last):asc,name(missing_values: last):desc',
    );
    expect(toTypesenseSort([])).toBe('');
  });

  it('leaves out fields no document has typed, and refuses more than three keys (IN101)', () => {
    expect(
      toTypesenseSort(parseSort(['price:asc', 'ghost:desc']), {
        fieldType: (f) => (f === 'price' ? 'float' : undefined),
      }),
    ).toBe('price(missing_values: last):asc');
    expectIN101(() => toTypesenseSort(parseSort(['a', 'b', 'c', 'd'])), /at most 3/);
  });
});
