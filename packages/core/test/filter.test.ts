import { describe, expect, it } from 'vitest';
import { compareBySort, type Filter, matchesFilter, normalizeFilter, parseSort } from '../src/index.ts';

const docs: Record<string, Record<string, unknown>> = {
  a: { name: 'Alpha', price: 10, tags: ['red', 'sale'], category: 'tools', released: Date.UTC(2024, 0, 1) },
  b: { name: 'Beta', price: 25, tags: ['blue'], category: 'O\'Reilly "q": `t`' },
  c: { name: 'Gamma', price: 40, tags: [], released: Date.UTC(2025, 0, 1), nested: { level: 3 } },
};
const ids = (f: Filter) => {
  const n = normalizeFilter(f);
  return Object.keys(docs).filter((id) => matchesFilter(n, docs[id]!));
};

describe('portable filter evaluator', () => {
  it('evaluates every operator', () => {
    expect(ids({ field: 'price', op: 'eq', value: 10 })).toEqual(['a']);
    expect(ids({ field: 'category', op: 'neq', value: 'tools' })).toEqual(['b', 'c']);
    expect(ids({ field: 'price', op: 'gt', value: 10 })).toEqual(['b', 'c']);
    expect(ids({ field: 'price', op: 'gte', value: 25 })).toEqual(['b', 'c']);
    expect(ids({ field: 'price', op: 'lt', value: 25 })).toEqual(['a']);
    expect(ids({ field: 'price', op: 'lte', value: 25 })).toEqual(['a', 'b']);
    expect(ids({ field: 'price', op: 'between', value: [10, 25] })).toEqual(['a', 'b']);
    expect(ids({ field: 'name', op: 'in', value: ['Alpha', 'Gamma'] })).toEqual(['a', 'c']);
    expect(ids({ field: 'category', op: 'nin', value: ['tools'] })).toEqual(['b', 'c']);
    expect(ids({ field: 'category', op: 'exists' })).toEqual(['a', 'b']);
    expect(ids({ field: 'category', op: 'exists', value: false })).toEqual(['c']);
    expect(ids({ field: 'nested.level', op: 'eq', value: 3 })).toEqual(['c']);
  });

  it('treats eq on arrays as contains and keeps documents missing the field for neq/nin', () => {
    expect(ids({ field: 'tags', op: 'eq', value: 'sale' })).toEqual(['a']);
    expect(ids({ field: 'tags', op: 'neq', value: 'sale' })).toEqual(['b', 'c']);
    expect(ids({ field: 'released', op: 'nin', value: [Date.UTC(2024, 0, 1)] })).toEqual(['b', 'c']);
  });

  it('filters dates as epoch milliseconds', () => {
    expect(ids({ field: 'released', op: 'gte', value: new Date(Date.UTC(2024, 6, 1)) })).toEqual(['c']);
  });

  it('combines AND of OR groups and matches values with quotes literally', () => {
    expect(
      ids({
        and: [
          {
            or: [
              { field: 'price', op: 'eq', value: 10 },
              { field: 'price', op: 'eq', value: 40 },
            ],
          },
          { field: 'category', op: 'exists' },
        ],
      }),
    ).toEqual(['a']);
    expect(ids({ field: 'category', op: 'eq', value: 'O\'Reilly "q": `t`' })).toEqual(['b']);
  });

  it('rejects malformed filters and undeclared fields with IN101', () => {
    const bad: unknown[] = [
      { field: 'price', op: 'like', value: 1 },
      { field: 'pr ice', op: 'eq', value: 1 },
      { field: 'price', op: 'between', value: [1] },
      { field: 'price', op: 'in', value: [] },
      { field: 'price', op: 'eq', value: null },
      { field: 'price', op: 'eq', value: Number.NaN },
      { field: 'price', op: 'gt', value: true },
      { or: [] },
      { and: 'x' },
      'price = 1',
    ];
    for (const f of bad)
      expect(() => normalizeFilter(f), JSON.stringify(f)).toThrow(expect.objectContaining({ code: 'IN101' }));
    expect(() => normalizeFilter({ field: 'secret', op: 'eq', value: 1 }, ['price'])).toThrow(
      /not filterable/,
    );
  });
});

describe('sort', () => {
  it('parses and orders with missing values last', () => {
    const s = parseSort(['price:desc', 'name']);
    expect(s).toEqual([
      { field: 'price', direction: 'desc' },
      { field: 'name', direction: 'asc' },
    ]);
    const list = [{ price: 1 }, {}, { price: 3 }].sort((x, y) => compareBySort(s, x, y));
    expect(list).toEqual([{ price: 3 }, { price: 1 }, {}]);
    expect(() => parseSort(['price:up'])).toThrow(expect.objectContaining({ code: 'IN101' }));
    expect(() => parseSort(['name:asc'], ['price'])).toThrow(/not sortable/);
    expect(() => parseSort('price')).toThrow(expect.objectContaining({ code: 'IN101' }));
  });
});
