import { type Filter, isIntegrationError, normalizeFilter } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import {
  combineAlgoliaFilters,
  formatAlgoliaNumber,
  quoteAlgoliaValue,
  toAlgoliaFilters,
  toAlgoliaFilterUnion,
} from '../src/filter.ts';

const one = (f: Filter) => toAlgoliaFilters(normalizeFilter(f));
const union = (f: Filter) => toAlgoliaFilterUnion(normalizeFilter(f));

function expectIN101(run: () => unknown): void {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(isIntegrationError(error)).toBe(true);
  expect((error as { code: string }).code).toBe('IN101');
}

describe('toAlgoliaFilters', () => {
  it('renders strings as quoted facet filters, numbers as numeric filters, booleans as boolean filters', () => {
    expect(one({ field: 'category', op: 'eq', value: 'kitchen' })).toBe('category:"kitchen"');
    expect(one({ field: 'price', op: 'eq', value: 12.5 })).toBe('price = 12.5');
    expect(one({ field: 'in_stock', op: 'eq', value: false })).toBe('in_stock:false');
    expect(one({ field: 'a.b', op: 'eq', value: 'x' })).toBe('a.b:"x"');
  });

  it('negates neq and nin with NOT (Algolia NOT keeps records lacking the attribute)', () => {
    expect(one({ field: 'category', op: 'neq', value: 'kitchen' })).toBe('NOT category:"kitchen"');
    expect(one({ field: 'price', op: 'neq', value: 3 })).toBe('NOT price = 3');
    expect(one({ field: 'tags', op: 'nin', value: ['a', 'b'] })).toBe('NOT tags:"a" AND NOT tags:"b"');
  });

  it('renders comparisons, inclusive ranges, in-lists and dates as epoch ms', () => {
    expect(one({ field: 'price', op: 'gt', value: 1 })).toBe('price > 1');
    expect(one({ field: 'price', op: 'gte', value: 1 })).toBe('price >= 1');
    expect(one({ field: 'price', op: 'lt', value: -1.5 })).toBe('price < -1.5');
    expect(one({ field: 'price', op: 'lte', value: 0 })).toBe('price <= 0');
    expect(one({ field: 'price', op: 'between', value: [1, 2] })).toBe('price:1 TO 2');
    expect(one({ field: 'tags', op: 'in', value: ['x', 'y'] })).toBe('(tags:"x" OR tags:"y")');
    const d = new Date('2023-03-10T00:00:00.000Z');
    expect(one({ field: 'at', op: 'gte', value: d })).toBe(`at >= ${d.getTime()}`);
  });

  it('renders exists on the hidden _fields facet', () => {
    expect(one({ field: 'category', op: 'exists' })).toBe('_fields:"category"');
    expect(one({ field: 'category', op: 'exists', value: false })).toBe('NOT _fields:"category"');
    expect(
      toAlgoliaFilters(normalizeFilter({ field: 'x', op: 'exists' }), { existsAttribute: '_present' }),
    ).toBe('_present:"x"');
  });

  it('combines AND of OR groups without parenthesising the conjunction', () => {
    expect(
      one({
        and: [
          {
            or: [
              { field: 'c', op: 'eq', value: 'a' },
              { field: 'c', op: 'eq', value: 'b' },
            ],
          },
          { field: 'p', op: 'lt', value: 5 },
        ],
      }),
    ).toBe('(c:"a" OR c:"b") AND p < 5');
  });

  it('distributes nin inside an OR group so the result stays a conjunction of ORs', () => {
    expect(
      one({
        or: [
          { field: 'c', op: 'eq', value: 'a' },
          { field: 't', op: 'nin', value: ['x', 'y'] },
        ],
      }),
    ).toBe('(c:"a" OR NOT t:"x") AND (c:"a" OR NOT t:"y")');
  });

  it('escapes quotes and backslashes so any value stays one quoted string', () => {
    expect(quoteAlgoliaValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(one({ field: 'brand', op: 'eq', value: `x" OR brand:"y` })).toBe('brand:"x\\" OR brand:\\"y"');
    expect(one({ field: 'brand', op: 'eq', value: 'back\\' })).toBe('brand:"back\\\\"');
  });

  it('quotes attribute names that are keywords', () => {
    expect(one({ field: 'NOT', op: 'eq', value: 'x' })).toBe('"NOT":"x"');
  });

  it('rejects string ranges and numbers outside Algolia range with IN101', () => {
    expectIN101(() => one({ field: 'name', op: 'gt', value: 'm' }));
    expectIN101(() => one({ field: 'name', op: 'between', value: ['a', 'm'] }));
    expectIN101(() => one({ field: 'n', op: 'gt', value: 1e18 }));
  });

  it('rejects an OR group mixing numeric and facet conditions (one filter cannot express it)', () => {
    expectIN101(() =>
      one({
        or: [
          { field: 'c', op: 'eq', value: 'books' },
          { field: 'p', op: 'gt', value: 250 },
        ],
      }),
    );
  });

  it('formats numbers without exponents', () => {
    expect(formatAlgoliaNumber(1e-7)).toBe('0.0000001');
    expect(formatAlgoliaNumber(1718000000000)).toBe('1718000000000');
    expect(formatAlgoliaNumber(-0.25)).toBe('-0.25');
  });
});

describe('toAlgoliaFilterUnion', () => {
  it('is one filter when no OR group mixes types', () => {
    expect(union({ field: 'c', op: 'eq', value: 'a' })).toEqual(['c:"a"']);
    expect(toAlgoliaFilterUnion([])).toEqual(['']);
  });

  it('splits a mixed OR group into disjoint filters: F, and N AND NOT F', () => {
    expect(
      union({
        or: [
          { field: 'category', op: 'eq', value: 'books' },
          { field: 'price', op: 'gt', value: 250 },
        ],
      }),
    ).toEqual(['category:"books"', 'price > 250 AND NOT category:"books"']);
    // A negated facet member is complemented back to the positive form.
    expect(
      union({
        and: [
          { field: 'x', op: 'eq', value: true },
          {
            or: [
              { field: 'c', op: 'neq', value: 'a' },
              { field: 'p', op: 'between', value: [1, 2] },
            ],
          },
        ],
      }),
    ).toEqual(['x:true AND NOT c:"a"', 'x:true AND p:1 TO 2 AND c:"a"']);
    // Mixed value types inside one `in`.
    expect(union({ field: 'v', op: 'in', value: ['a', 2] })).toEqual(['v:"a"', 'v = 2 AND NOT v:"a"']);
  });

  it('multiplies alternatives per mixed group and caps the count with IN101', () => {
    const mixed = (i: number): Filter => ({
      or: [
        { field: `f${i}`, op: 'eq', value: 's' },
        { field: `n${i}`, op: 'gt', value: i },
      ],
    });
    expect(union({ and: [mixed(1), mixed(2)] as never })).toHaveLength(4);
    expectIN101(() => union({ and: [mixed(1), mixed(2), mixed(3), mixed(4), mixed(5)] as never }));
  });
});

describe('combineAlgoliaFilters', () => {
  it('joins a raw filter with AND, wrapping a bare top-level OR', () => {
    expect(combineAlgoliaFilters(undefined, 'a:"x"')).toBe('a:"x"');
    expect(combineAlgoliaFilters('  ', '')).toBe('');
    expect(combineAlgoliaFilters('c:kitchen', 'a:"x"')).toBe('c:kitchen AND a:"x"');
    expect(combineAlgoliaFilters('c:kitchen OR c:books', 'a:"x"')).toBe('(c:kitchen OR c:books) AND a:"x"');
    expect(combineAlgoliaFilters('c:a AND (c:b OR c:d)', 'a:"x"')).toBe('c:a AND (c:b OR c:d) AND a:"x"');
    expect(combineAlgoliaFilters('brand:"x OR y"', '')).toBe('brand:"x OR y"');
    expect(combineAlgoliaFilters('brand:"a \\" OR b"', 'z = 1')).toBe('brand:"a \\" OR b" AND z = 1');
  });
});
