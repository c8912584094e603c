import type { Filter } from '@fraiseql/core';
import { expect, it } from 'vitest';
import { expectIntegrationError } from '../expect-error';
import {
  CATALOGUE_IDS,
  OPERATOR_BRAND,
  PLAIN_BRAND,
  PRODUCT_CATALOGUE,
  TRICKY_BRAND,
  UNICODE_BRAND,
} from '../search-fixtures';
import { type CatalogueContext, day, sortedIds, without } from './context';

/** SearchProvider contract, portable filters (and rawFilter). Registers its tests in the caller's `describe`. */
export function searchFilterTests({ search, idsOf, filtered, rawFilter }: CatalogueContext): void {
  it('eq on a string, a number and a boolean', async () => {
    expect(await filtered({ field: 'category', op: 'eq', value: 'kitchen' })).toEqual(['p01', 'p02', 'p09']);
    expect(await filtered({ field: 'price', op: 'eq', value: 12.5 })).toEqual(['p02']);
    expect(await filtered({ field: 'in_stock', op: 'eq', value: false })).toEqual(['p03', 'p06', 'p09']);
  });

  it('eq on an array field means "contains"', async () => {
    expect(await filtered({ field: 'tags', op: 'eq', value: 'travel' })).toEqual(['p06', 'p08']);
    expect(await filtered({ field: 'tags', op: 'eq', value: 'coffee' })).toEqual(['p01', 'p02']);
  });

  it('neq keeps documents that lack the field', async () => {
    expect(await filtered({ field: 'category', op: 'neq', value: 'kitchen' })).toEqual(
      without('p01', 'p02', 'p09'),
    );
    // p10 has no category and must be in the result.
    expect(await filtered({ field: 'category', op: 'neq', value: 'kitchen' })).toContain('p10');
  });

  it('neq on an array field excludes documents containing the value', async () => {
    expect(await filtered({ field: 'tags', op: 'neq', value: 'coffee' })).toEqual(without('p01', 'p02'));
  });

  it('gt, gte, lt, lte on numbers (bounds equal to a value)', async () => {
    expect(await filtered({ field: 'price', op: 'gt', value: 89.75 })).toEqual(['p01', 'p05', 'p06']);
    expect(await filtered({ field: 'price', op: 'gte', value: 89.75 })).toEqual(['p01', 'p03', 'p05', 'p06']);
    expect(await filtered({ field: 'price', op: 'lt', value: 25.5 })).toEqual(['p02', 'p08']);
    expect(await filtered({ field: 'price', op: 'lte', value: 25.5 })).toEqual(['p02', 'p04', 'p08']);
  });

  it('between is inclusive at both ends', async () => {
    expect(await filtered({ field: 'price', op: 'between', value: [25.5, 89.75] })).toEqual([
      'p03',
      'p04',
      'p07',
      'p09',
      'p10',
    ]);
  });

  it('in matches any of the values, on scalars and on arrays', async () => {
    expect(await filtered({ field: 'category', op: 'in', value: ['books', 'sports'] })).toEqual([
      'p03',
      'p04',
      'p07',
      'p08',
    ]);
    expect(await filtered({ field: 'price', op: 'in', value: [9.25, 299.75] })).toEqual(['p06', 'p08']);
    expect(await filtered({ field: 'tags', op: 'in', value: ['dessert', 'gift'] })).toEqual(['p09', 'p10']);
  });

  it('nin excludes every value and keeps documents that lack the field', async () => {
    expect(await filtered({ field: 'category', op: 'nin', value: ['books', 'sports'] })).toEqual([
      'p01',
      'p02',
      'p05',
      'p06',
      'p09',
      'p10',
    ]);
    expect(await filtered({ field: 'tags', op: 'nin', value: ['coffee', 'reference'] })).toEqual(
      without('p01', 'p02', 'p07', 'p08'),
    );
  });

  it('exists true / false', async () => {
    expect(await filtered({ field: 'category', op: 'exists', value: true })).toEqual(without('p10'));
    expect(await filtered({ field: 'category', op: 'exists' })).toEqual(without('p10'));
    expect(await filtered({ field: 'category', op: 'exists', value: false })).toEqual(['p10']);
  });

  it('an OR group matches documents passing any of its conditions', async () => {
    const filter: Filter = {
      or: [
        { field: 'category', op: 'eq', value: 'books' },
        { field: 'price', op: 'gt', value: 250 },
      ],
    };
    expect(await filtered(filter)).toEqual(['p06', 'p07', 'p08']);
  });

  it('an AND of clauses (including an OR group) matches documents passing all of them', async () => {
    expect(
      await filtered({
        and: [
          { field: 'category', op: 'eq', value: 'kitchen' },
          { field: 'in_stock', op: 'eq', value: true },
        ],
      }),
    ).toEqual(['p01', 'p02']);
    expect(
      await filtered({
        and: [
          {
            or: [
              { field: 'category', op: 'eq', value: 'kitchen' },
              { field: 'category', op: 'eq', value: 'electronics' },
            ],
          },
          { field: 'price', op: 'lt', value: 150 },
        ],
      }),
    ).toEqual(['p02', 'p05', 'p09']);
  });

  it('dates are filtered as epoch milliseconds (Date values accepted)', async () => {
    expect(await filtered({ field: 'released_at', op: 'gte', value: day('2023-03-10') })).toEqual([
      'p03',
      'p05',
      'p06',
      'p10',
    ]);
    expect(await filtered({ field: 'released_at', op: 'lt', value: day('2020-01-01') })).toEqual(['p08']);
    expect(
      await filtered({
        field: 'released_at',
        op: 'between',
        value: [day('2022-01-01'), day('2022-12-31')],
      }),
    ).toEqual(['p02', 'p09']);
    // The same instant as a number selects the same documents.
    expect(await filtered({ field: 'released_at', op: 'gte', value: day('2023-03-10').getTime() })).toEqual([
      'p03',
      'p05',
      'p06',
      'p10',
    ]);
  });

  it('values with quotes, colons, backticks, operators, backslashes and unicode match exactly', async () => {
    expect(await filtered({ field: 'brand', op: 'eq', value: TRICKY_BRAND })).toEqual(['p07']);
    expect(await filtered({ field: 'brand', op: 'eq', value: PLAIN_BRAND })).toEqual(['p08']);
    expect(await filtered({ field: 'brand', op: 'eq', value: OPERATOR_BRAND })).toEqual(['p10']);
    expect(await filtered({ field: 'brand', op: 'eq', value: UNICODE_BRAND })).toEqual(['p09']);
    expect(await filtered({ field: 'brand', op: 'in', value: [TRICKY_BRAND, OPERATOR_BRAND] })).toEqual([
      'p07',
      'p10',
    ]);
    expect(await filtered({ field: 'brand', op: 'neq', value: TRICKY_BRAND })).toEqual(without('p07'));
    // An injection attempt is just a value that matches nothing.
    expect(await filtered({ field: 'brand', op: 'eq', value: `x" OR brand = "Brava` })).toEqual([]);
    expect(await filtered({ field: 'brand', op: 'eq', value: "x' OR '1'='1" })).toEqual([]);
  });

  it('a filter combines with a word query', async () => {
    expect(await idsOf({ query: 'guide', filter: { field: 'price', op: 'lt', value: 20 } })).toEqual(['p08']);
    const r = await search({ query: 'coffee', filter: { field: 'tags', op: 'eq', value: 'ceramic' } });
    expect(sortedIds(r)).toEqual(['p02']);
    expect(r.totalHits).toBe(1);
  });

  it('totalHits counts the filtered set', async () => {
    const r = await search({
      query: '',
      filter: { field: 'category', op: 'eq', value: 'kitchen' },
      limit: 1,
    });
    expect(r.hits).toHaveLength(1);
    expect(r.totalHits).toBe(3);
  });

  it('filtering on a field not declared filterable is IN101', async () => {
    await expectIntegrationError(
      () => search({ query: '', filter: { field: 'description', op: 'eq', value: 'x' } }),
      'IN101',
    );
    await expectIntegrationError(
      () =>
        search({
          query: '',
          filter: {
            and: [
              { field: 'category', op: 'eq', value: 'kitchen' },
              { field: 'name', op: 'exists' },
            ],
          },
        }),
      'IN101',
    );
  });

  it('a malformed filter is IN101', async () => {
    await expectIntegrationError(
      () => search({ query: '', filter: { field: 'price', op: 'like', value: 1 } as unknown as Filter }),
      'IN101',
    );
    await expectIntegrationError(
      () =>
        search({
          query: '',
          filter: { field: 'price', op: 'between', value: [1] } as unknown as Filter,
        }),
      'IN101',
    );
    await expectIntegrationError(
      () => search({ query: '', filter: { field: 'tags', op: 'in', value: [] } }),
      'IN101',
    );
  });

  if (rawFilter) {
    const raw = rawFilter;
    it('rawFilter passes engine syntax through and combines with filter by AND', async () => {
      expect(sortedIds(await search({ query: '', rawFilter: raw.filter, limit: 100 }))).toEqual(
        [...raw.ids].sort(),
      );
      const inStock = CATALOGUE_IDS.filter((id) => PRODUCT_CATALOGUE[id]!.in_stock);
      const r = await search({
        query: '',
        rawFilter: raw.filter,
        filter: { field: 'in_stock', op: 'eq', value: true },
        limit: 100,
      });
      expect(sortedIds(r)).toEqual(raw.ids.filter((id) => inStock.includes(id)).sort());
    });
  }
}
