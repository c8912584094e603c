import { JSONPath } from 'jsonpath-plus';
import { describe, expect, it } from 'vitest';
import { applyMapping, compileMapping } from '../src/index';

const doc = JSON.parse(
  JSON.stringify({
    order: {
      id: 'o-1',
      'odd-key': 7,
      customer: { name: 'Ada', email: 'ada@example.com', tags: ['a', 'b'] },
      items: [
        { sku: 'A', qty: 1, price: 10 },
        { sku: 'B', qty: 2 },
        { qty: 3, price: 5 },
      ],
      total: 1012.5,
      byId: { x: { n: 1 }, y: { n: 2 } },
    },
  }),
);

/** What jsonpath-plus gives for a leaf, the way the engine reads it (single value or all matches). */
function library(path: string, multi: boolean): unknown {
  const r = JSONPath({ path, json: doc, wrap: true, eval: 'safe' }) as unknown[];
  return multi ? r : r[0];
}

describe('transform mapping', () => {
  const single = [
    '$.order.id',
    '$.order.customer.name',
    "$.order['odd-key']",
    '$.order["odd-key"]',
    '$.order.items[0].sku',
    '$.order.items[5].sku',
    '$.order.missing.deeper',
    '$.order.customer.tags.length',
    '$.order.total',
    '$',
  ];
  const multi = [
    '$.order.items[*].sku',
    '$.order.items[*].price',
    '$.order.byId.*.n',
    '$.order.items[*]',
    '$..sku',
    '$.order.items[?(@.qty > 1)].qty',
    '$.order.items[0:2].sku',
  ];
  for (const path of single)
    it(`${path} reads what jsonpath-plus reads`, () => {
      expect(applyMapping({ v: path }, doc)).toEqual(
        library(path, false) === undefined ? {} : { v: library(path, false) },
      );
    });
  for (const path of multi)
    it(`${path} gives every match, like jsonpath-plus`, () => {
      expect(applyMapping({ v: path }, doc)).toEqual({ v: library(path, true) });
    });

  it('keeps literal leaves, nests objects and arrays, and drops missing values', () => {
    const f = compileMapping({
      id: '$.order.id',
      customer: { name: '$.order.customer.name', tier: 'gold' },
      pair: ['$.order.total', 3, null],
      gone: '$.order.nothing',
    });
    expect(f(doc)).toEqual({
      id: 'o-1',
      customer: { name: 'Ada', tier: 'gold' },
      pair: [1012.5, 3, null],
    });
  });

  it('never reads through the prototype and never pollutes it', () => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": true}, "a": {"constructor": {"prototype": {"x": 1}}}}',
    );
    const mapping = JSON.parse(
      '{"__proto__": "$.__proto__", "c": "$.a.constructor.prototype", "t": "$.toString", "h": "$.a.hasOwnProperty"}',
    );
    const out = applyMapping(mapping, hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(out.c).toEqual({ x: 1 });
    expect(out.t).toBeUndefined();
    expect(out.h).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers undefined fields for a non-object body instead of throwing', () => {
    expect(applyMapping({ a: '$.x', b: '$.items[*]' }, 'text')).toEqual({});
  });
});
