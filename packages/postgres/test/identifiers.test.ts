import { IntegrationError } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { assertIdentifier, parseQualifiedName, qualifiedName, quoteIdent } from '../src/index.ts';

function thrown(fn: () => unknown): IntegrationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrationError);
    return err as IntegrationError;
  }
  throw new Error('expected a throw');
}

describe('identifiers', () => {
  it('accepts plain Postgres identifiers up to 63 characters', () => {
    for (const name of ['cache', '_system', 'Jobs_2024', 'a', '_', 'x'.repeat(63)]) {
      expect(() => assertIdentifier(name)).not.toThrow();
    }
  });

  it('refuses injection attempts, unicode, empty, too long and non-strings with IN002', () => {
    const bad: unknown[] = [
      'a"; drop table x; --',
      'a"b',
      'drop table x;',
      'a.b',
      'a b',
      'a-b',
      "a'b",
      '1abc',
      '',
      'café',
      'таблица',
      'a\u0000b',
      'x'.repeat(64),
      'x'.repeat(200),
      null,
      undefined,
      42,
    ];
    for (const name of bad) {
      const err = thrown(() => assertIdentifier(name, 'table'));
      expect(err.code).toBe('IN002');
      expect(err.kind).toBe('configuration');
      expect(err.field).toBe('table');
    }
  });

  it('uses the code the caller chooses', () => {
    expect(thrown(() => assertIdentifier('bad name', 'index', 'IN106')).code).toBe('IN106');
    expect(thrown(() => assertIdentifier('bad name', 'index', 'IN106')).kind).toBe('invalid_input');
  });

  it('quotes validated names, keeping their case', () => {
    expect(quoteIdent('MyTable')).toBe('"MyTable"');
    expect(qualifiedName('_system', 'cache')).toBe('"_system"."cache"');
    expect(thrown(() => quoteIdent('a"; drop table x; --')).code).toBe('IN002');
    expect(thrown(() => qualifiedName('ok', 'x'.repeat(64))).field).toBe('table');
    expect(thrown(() => qualifiedName('bad schema', 'ok')).field).toBe('schema');
  });

  it('parses schema.table names', () => {
    expect(parseQualifiedName('_system.cache')).toEqual({ schema: '_system', table: 'cache' });
    expect(parseQualifiedName('cache')).toEqual({ schema: 'public', table: 'cache' });
    expect(parseQualifiedName('cache', '_system')).toEqual({ schema: '_system', table: 'cache' });
    for (const bad of ['a.b.c', '.cache', 'cache.', '"a"."b"', 'a;b.c', 'ünï.code', '']) {
      expect(thrown(() => parseQualifiedName(bad)).code).toBe('IN002');
    }
  });
});
