import { describe, expect, it } from 'vitest';
import { checkSearchQuery, datesToMillis, type IntegrationError, undeclaredSearchField } from '../src/index';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as IntegrationError).code;
  }
  return undefined;
};

describe('kit: search queries', () => {
  it('checkSearchQuery normalizes a query and refuses a bad one with IN101/IN106', () => {
    const q = checkSearchQuery({
      index: 'products',
      query: 'mug',
      filter: { field: 'at', op: 'gte', value: new Date(5) },
      sort: ['price:desc'],
      facets: ['category'],
    });
    expect(q).toEqual({
      index: 'products',
      query: 'mug',
      limit: 20,
      offset: 0,
      facets: ['category'],
      highlight: [],
      filter: [[{ field: 'at', op: 'gte', value: 5 }]],
      sort: [{ field: 'price', direction: 'desc' }],
    });
    expect(code(() => checkSearchQuery({ index: 'a b', query: '' }))).toBe('IN106');
    expect(code(() => checkSearchQuery({ index: 'p', query: 1 as never }))).toBe('IN101');
    expect(code(() => checkSearchQuery({ index: 'p', query: '', limit: 1001 }))).toBe('IN101');
    expect(code(() => checkSearchQuery({ index: 'p', query: '', rawFilter: 3 as never }))).toBe('IN101');
  });

  it('undeclaredSearchField names the first field not declared filterable or sortable', () => {
    const q = checkSearchQuery({
      index: 'p',
      query: '',
      filter: { field: 'price', op: 'gt', value: 1 },
      sort: ['name:asc'],
      facets: ['tags'],
    });
    const covers = (f: string[], s: string[]) => ({
      filterable: (x: string) => f.includes(x),
      sortable: (x: string) => s.includes(x),
    });
    expect(undeclaredSearchField(q, covers(['price', 'tags'], ['name']))).toBeUndefined();
    expect(undeclaredSearchField(q, covers(['tags'], ['name']))?.field).toBe('price');
    expect(undeclaredSearchField(q, covers(['price', 'tags'], []))?.field).toBe('sort');
    expect(undeclaredSearchField(q, covers(['price'], ['name']))?.message).toMatch(/Facet "tags"/);
  });

  it('datesToMillis converts Dates deep inside plain objects and arrays', () => {
    expect(datesToMillis({ a: new Date(7), b: [new Date(8), { c: new Date(9) }], d: 'x' })).toEqual({
      a: 7,
      b: [8, { c: 9 }],
      d: 'x',
    });
  });
});
