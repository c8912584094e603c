import { describe, expect, it } from 'vitest';
import { matchesFilter, normalizeFilter, parseFilterExpression } from '../src/index';

const match = (expr: string, doc: Record<string, unknown>) =>
  matchesFilter(normalizeFilter(parseFilterExpression(expr)), doc);

describe('parseFilterExpression', () => {
  it("parses the seed's condition into the portable Filter", () => {
    expect(parseFilterExpression("total >= 1000 and status == 'new'")).toEqual({
      and: [
        { field: 'total', op: 'gte', value: 1000 },
        { field: 'status', op: 'eq', value: 'new' },
      ],
    });
  });

  it('evaluates with the shared in-memory evaluator', () => {
    expect(match("total >= 1000 and status == 'new'", { total: 1500, status: 'new' })).toBe(true);
    expect(match("total >= 1000 and status == 'new'", { total: 999, status: 'new' })).toBe(false);
    expect(match("status == 'new'", {})).toBe(false);
    expect(match("status != 'new'", {})).toBe(true);
    expect(match('a.b > 2', { a: { b: 3 } })).toBe(true);
  });

  it('distributes or over and into AND-of-ORs', () => {
    const expr = "(a == 1 and b == 2) or c == 'x'";
    expect(match(expr, { a: 1, b: 2 })).toBe(true);
    expect(match(expr, { c: 'x' })).toBe(true);
    expect(match(expr, { a: 1, b: 3 })).toBe(false);
    expect(match('a == 1 || b == 2 && c == 3', { a: 1 })).toBe(true);
  });

  it('supports in, not in, exists, is null and boolean values', () => {
    expect(match("s in ['a', 'b']", { s: 'b' })).toBe(true);
    expect(match("s not in ['a', 'b']", { s: 'b' })).toBe(false);
    expect(match('s exists', { s: 0 })).toBe(true);
    expect(match('s is null', {})).toBe(true);
    expect(match('s is not null', { s: 1 })).toBe(true);
    expect(match('s == null', { s: null })).toBe(true);
    expect(match('paid == true', { paid: true })).toBe(true);
    expect(match('name = "it\\"s"', { name: 'it"s' })).toBe(true);
  });

  it.each([
    ['', 'non-empty'],
    ['total >', 'expected a value'],
    ['total ~ 3', 'unexpected "~"'],
    ["status == 'new", 'unterminated'],
    ['(a == 1', 'missing ")"'],
    ['a == 1 b == 2', 'unexpected'],
    ['a > true', 'number or a string'],
    ['1 == a', 'field name'],
    ['a in [1, null]', 'null is not allowed'],
  ])('rejects %j with IN002 (%s)', (expr, message) => {
    let error: { code?: string; message?: string } | undefined;
    try {
      parseFilterExpression(expr);
    } catch (err) {
      error = err as typeof error;
    }
    expect(error?.code).toBe('IN002');
    expect(error?.message).toContain(message);
  });

  it('refuses an expression whose CNF would explode', () => {
    const expr = Array.from({ length: 8 }, (_, i) => `(a${i} == 1 and b${i} == 2)`).join(' or ');
    expect(() => parseFilterExpression(expr)).toThrow(/too complex/);
  });
});
