import { normalizeFilter, parseSort } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { quoteMeilisearchValue, toMeilisearchFilter, toMeilisearchSort } from '../src/filter.ts';

const tr = (filter: unknown) => toMeilisearchFilter(normalizeFilter(filter));

/**
 * Meilisearch's own reading of a double-quoted value (filter-parser `quoted_by` + `unescaper`):
 * find the closing quote skipping `\x` pairs, turn `\"` into `"` when one was seen, then unescape
 * `\\` (and the other standard escapes). Written out here so the round trip is checked against the
 * engine's algorithm, not against our own escaper.
 */
function meiliUnquote(text: string): { value: string; rest: string } {
  if (text[0] !== '"') throw new Error('not quoted');
  let i = 1;
  let escaped = false;
  while (i < text.length && text[i] !== '"') {
    if (text[i] === '\\') {
      if (i + 1 >= text.length) throw new Error('malformed');
      escaped ||= text[i + 1] === '"';
      i += 2;
    } else i += 1;
  }
  if (i >= text.length) throw new Error('missing closing quote');
  let raw = text.slice(1, i);
  if (escaped) raw = raw.split('\\"').join('"');
  let value = '';
  for (let j = 0; j < raw.length; j++) {
    const c = raw[j]!;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const n = raw[++j];
    const map: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };
    if (n === undefined || !(n in map)) throw new Error(`invalid escape \\${n}`);
    value += map[n];
  }
  return { value, rest: text.slice(i + 1) };
}

describe('toMeilisearchFilter', () => {
  it('translates every operator with quoted fields and values', () => {
    expect(tr({ field: 'category', op: 'eq', value: 'kitchen' })).toBe('"category" = "kitchen"');
    expect(tr({ field: 'category', op: 'neq', value: 'kitchen' })).toBe('"category" != "kitchen"');
    expect(tr({ field: 'price', op: 'gt', value: 12.5 })).toBe('"price" > 12.5');
    expect(tr({ field: 'price', op: 'gte', value: -3 })).toBe('"price" >= -3');
    expect(tr({ field: 'price', op: 'lt', value: 100 })).toBe('"price" < 100');
    expect(tr({ field: 'name', op: 'lte', value: 'm' })).toBe('"name" <= "m"');
    expect(tr({ field: 'price', op: 'between', value: [1, 2] })).toBe('"price" 1 TO 2');
    expect(tr({ field: 'tags', op: 'in', value: ['a', 2, true] })).toBe('"tags" IN ["a", 2, true]');
    expect(tr({ field: 'tags', op: 'nin', value: ['a', 'b'] })).toBe('"tags" NOT IN ["a", "b"]');
    expect(tr({ field: 'in_stock', op: 'eq', value: false })).toBe('"in_stock" = false');
  });

  it('maps exists onto EXISTS and IS NULL, since Meilisearch counts null as existing', () => {
    expect(tr({ field: 'category', op: 'exists' })).toBe('("category" EXISTS AND "category" IS NOT NULL)');
    expect(tr({ field: 'category', op: 'exists', value: false })).toBe(
      '("category" NOT EXISTS OR "category" IS NULL)',
    );
  });

  it('turns dates into epoch milliseconds and quotes numbers that are not plain digits', () => {
    const t = Date.UTC(2023, 2, 10);
    expect(tr({ field: 'released_at', op: 'gte', value: new Date(t) })).toBe(`"released_at" >= ${t}`);
    expect(tr({ field: 'n', op: 'eq', value: 1e21 })).toBe('"n" = "1e+21"');
  });

  it('parenthesises OR groups and joins clauses with AND', () => {
    expect(
      tr({
        and: [
          {
            or: [
              { field: 'category', op: 'eq', value: 'kitchen' },
              { field: 'price', op: 'gt', value: 250 },
            ],
          },
          { field: 'in_stock', op: 'eq', value: true },
        ],
      }),
    ).toBe('("category" = "kitchen" OR "price" > 250) AND "in_stock" = true');
    expect(tr({ or: [{ field: 'a', op: 'eq', value: 1 }] })).toBe('"a" = 1');
  });

  it('gives undefined for an empty filter', () => {
    expect(toMeilisearchFilter([])).toBeUndefined();
    expect(tr(undefined)).toBeUndefined();
    expect(tr({ and: [] })).toBeUndefined();
  });

  it('quotes keyword-like field names so they are never read as operators', () => {
    expect(tr({ field: 'NOT', op: 'eq', value: 'AND' })).toBe('"NOT" = "AND"');
    expect(tr({ field: 'a.b', op: 'exists' })).toBe('("a.b" EXISTS AND "a.b" IS NOT NULL)');
  });

  it('escapes values so that Meilisearch reads back exactly the original string', () => {
    const values = [
      'O\'Reilly "quoted": `tick`',
      '[a, b] && (c || d) OR x = "y" \\ back\\slash\\',
      'ends with backslash \\',
      '\\"',
      '\\\\"\\',
      'x" OR brand = "Brava',
      'Café Münster ☕',
      'tab\tnew\nline',
      '',
    ];
    for (const v of values) {
      const quoted = quoteMeilisearchValue(v);
      const { value, rest } = meiliUnquote(quoted);
      expect(value).toBe(v);
      expect(rest).toBe('');
      // The same value inside a whole condition: the closing quote is where we put it.
      const cond = tr({ field: 'brand', op: 'eq', value: v })!;
      expect(cond.startsWith('"brand" = ')).toBe(true);
      expect(meiliUnquote(cond.slice('"brand" = '.length))).toEqual({ value: v, rest: '' });
    }
  });
});

describe('toMeilisearchSort', () => {
  it('renders field:direction', () => {
    expect(toMeilisearchSort(parseSort(['price:asc', 'name:desc', 'rank']))).toEqual([
      'price:asc',
      'name:desc',
      'rank:asc',
    ]);
    expect(toMeilisearchSort([])).toEqual([]);
  });
});
