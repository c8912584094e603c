import { describe, expect, it } from 'vitest';
import { cacheKey, decodeResult, encodeResult } from '../src/codec';

describe('codec', () => {
  it('round-trips JS types, "$" keys and a "__proto__" key without touching prototypes', () => {
    const row = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as Record<string, unknown>;
    const rows = [
      { d: new Date(0), b: 2n ** 60n, x: new Uint8Array([1, 2]), n: Number.NaN, j: { $d: 'no' }, s: '1' },
      row,
    ];
    const back = decodeResult<Record<string, unknown>>(Buffer.from(encodeResult({ rows, rowCount: 2 })));
    expect(back.rows[0]).toEqual(rows[0]);
    expect(Object.getPrototypeOf(back.rows[1])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back.rows[1], '__proto__')?.value).toEqual({ x: 1 });
  });

  it('typed parameters never collide', () => {
    const keys = [
      1,
      '1',
      1n,
      true,
      'true',
      null,
      undefined,
      [1],
      ['1'],
      '{"a":1}',
      { a: 1 },
      new Date(0),
    ].map((p) => cacheKey('q', [p]));
    expect(new Set(keys).size).toBe(keys.length);
    expect(cacheKey('q', ['a', 'b'])).not.toBe(cacheKey('q', ['a\u0000s1:b']));
    expect(() => cacheKey('q', [() => 1])).toThrow();
  });
});
