import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  assertOptionsObject,
  badDocument,
  badQuery,
  configError,
  ErrorCode,
  fieldList,
  IntegrationError,
  interpretJobResult,
  isPlainObject,
  nonNegativeIntOption,
  numberOption,
  pageCount,
  positiveIntOption,
  positiveOption,
  probeWithTimeout,
  searchPage,
  sleep,
  stringOption,
  timeoutError,
  urlSecrets,
  withTimeout,
} from '../src/index.ts';

function thrown(fn: () => unknown): IntegrationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrationError);
    return err as IntegrationError;
  }
  throw new Error('expected a throw');
}

describe('kit: factory options', () => {
  it('configError is IN002 tagged with the provider and naming the field', () => {
    const err = configError('redis', 'scanCount is bad', 'scanCount');
    expect(err.code).toBe(ErrorCode.InvalidConfiguration);
    expect(err.message).toBe('[redis] scanCount is bad');
    expect(err.field).toBe('scanCount');
  });

  it('numeric options fall back when undefined and keep valid values', () => {
    expect(positiveOption(undefined, 'timeoutMs', 5000, 'x')).toBe(5000);
    expect(positiveOption(0.5, 'timeoutMs', 5000, 'x')).toBe(0.5);
    expect(positiveIntOption(undefined, 'max', undefined, 'x')).toBeUndefined();
    expect(positiveIntOption(3, 'max', 10, 'x')).toBe(3);
    expect(nonNegativeIntOption(0, 'n', 10, 'x')).toBe(0);
    expect(numberOption(200, 'lease', 1, { provider: 'x', min: 200 })).toBe(200);
  });

  it('out-of-range numbers are IN002 naming the option and the value', () => {
    for (const [fn, msg] of [
      [
        () => positiveOption(0, 'timeoutMs', 1, 'rabbitmq', 'milliseconds'),
        '[rabbitmq] timeoutMs must be a positive number of milliseconds, got 0',
      ],
      [
        () => positiveOption(Number.NaN, 'timeoutMs', 1, 'x'),
        '[x] timeoutMs must be a positive number, got NaN',
      ],
      [() => positiveOption('5', 'timeoutMs', 1, 'x'), '[x] timeoutMs must be a positive number, got 5'],
      [
        () => positiveIntOption(1.5, 'maxEntries', 1, 'cache-memory'),
        '[cache-memory] maxEntries must be a positive integer, got 1.5',
      ],
      [() => nonNegativeIntOption(-1, 'n', 1, 'x'), '[x] n must be a non-negative integer, got -1'],
      [
        () => numberOption(100, 'lease', 1, { provider: 'x', min: 200 }),
        '[x] lease must be a number of at least 200, got 100',
      ],
      [
        () => numberOption(11, 'c', 1, { provider: 'x', integer: true, min: 1, max: 10 }),
        '[x] c must be an integer from 1 to 10, got 11',
      ],
    ] as const) {
      const err = thrown(fn);
      expect(err.code).toBe(ErrorCode.InvalidConfiguration);
      expect(err.message).toBe(msg);
    }
  });

  it('stringOption checks presence and pattern', () => {
    expect(stringOption(undefined, 'prefix', 'fq', 'x')).toBe('fq');
    expect(stringOption('ab', 'prefix', 'fq', 'x', /^[a-z]+$/)).toBe('ab');
    expect(thrown(() => stringOption('', 'prefix', 'fq', 'x')).code).toBe(ErrorCode.InvalidConfiguration);
    expect(thrown(() => stringOption('A!', 'prefix', 'fq', 'x', /^[a-z]+$/)).message).toContain('"A!"');
  });
});

describe('kit: timeouts', () => {
  it('withTimeout passes the value through and rejects with onTimeout() when late', async () => {
    await expect(withTimeout(Promise.resolve(7), 50, () => new Error('late'))).resolves.toBe(7);
    await expect(withTimeout(sleep(200), 10, () => timeoutError('PING', 10))).rejects.toMatchObject({
      message: 'PING timed out after 10 ms',
      code: 'ETIMEDOUT',
    });
  });

  it('probeWithTimeout answers false on timeout and on rejection, never throws', async () => {
    await expect(probeWithTimeout(Promise.resolve(true), 50)).resolves.toBe(true);
    await expect(probeWithTimeout(new Promise<boolean>(() => {}), 10)).resolves.toBe(false);
    await expect(probeWithTimeout(Promise.reject(new Error('down')), 50)).resolves.toBe(false);
  });

  it('sleep ends early when its signal aborts', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const done = sleep(10_000, ac.signal);
    ac.abort();
    await done;
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('kit: query parts', () => {
  it('fieldList dedups, keeps order, and refuses bad names or fields not allowed (IN101)', () => {
    expect(fieldList(undefined, 'facets')).toEqual([]);
    expect(fieldList(['b', 'a.c', 'b'], 'facets')).toEqual(['b', 'a.c']);
    expect(thrown(() => fieldList('b', 'facets')).code).toBe(ErrorCode.InvalidSearchQuery);
    expect(thrown(() => fieldList(['a;drop'], 'facets')).field).toBe('facets');
    expect(thrown(() => fieldList(undefined, 'searchable', { required: true })).code).toBe(
      ErrorCode.InvalidSearchQuery,
    );
    expect(
      thrown(() => fieldList(['x'], 'facets', { allowed: ['y'], allowedWhat: 'filterable' })).message,
    ).toContain('not filterable');
  });

  it('searchPage defaults to 20/0 and bounds limit at 1000', () => {
    expect(searchPage(undefined, undefined)).toEqual({ limit: 20, offset: 0 });
    expect(searchPage(1000, 5)).toEqual({ limit: 1000, offset: 5 });
    expect(thrown(() => searchPage(1001, 0)).field).toBe('limit');
    expect(thrown(() => searchPage(10, -1)).field).toBe('offset');
    expect(thrown(() => pageCount(1.5, 'limit', 20, 100)).code).toBe(ErrorCode.InvalidSearchQuery);
  });
});

describe('kit: urlSecrets', () => {
  it('returns the raw and decoded password, nothing for none or garbage', () => {
    expect(urlSecrets('redis://:p%40ss@h:6379')).toEqual(['p%40ss', 'p@ss']);
    expect(urlSecrets('postgres://u:plain@h/db')).toEqual(['plain']);
    expect(urlSecrets('redis://h:6379')).toEqual([]);
    expect(urlSecrets('not a url')).toEqual([]);
    expect(urlSecrets('redis://:%E0%A4%A@h')).toEqual(['%E0%A4%A']);
  });
});

describe('kit: interpretJobResult', () => {
  it('nothing, a value without status, and complete complete the job', () => {
    expect(interpretJobResult(undefined)).toEqual({ kind: 'complete' });
    expect(interpretJobResult(null)).toEqual({ kind: 'complete' });
    expect(interpretJobResult(42)).toEqual({ kind: 'complete', result: 42 });
    expect(interpretJobResult({ ok: true })).toEqual({ kind: 'complete', result: { ok: true } });
    expect(interpretJobResult({ status: 'complete' })).toMatchObject({ kind: 'complete' });
  });

  it('retry keeps a finite non-negative delay (rounded) and drops any other', () => {
    expect(interpretJobResult({ status: 'retry', reason: 'busy', delayMs: 12.6 })).toEqual({
      kind: 'retry',
      reason: 'busy',
      delayMs: 13,
    });
    expect(interpretJobResult({ status: 'retry', reason: 'busy', delayMs: -1 })).toEqual({
      kind: 'retry',
      reason: 'busy',
    });
    expect(interpretJobResult({ status: 'retry' })).toEqual({ kind: 'retry', reason: 'retry requested' });
  });

  it('failed fails at once with the reason', () => {
    expect(interpretJobResult({ status: 'failed', reason: 'bad address' })).toEqual({
      kind: 'failed',
      reason: 'bad address',
    });
  });

  it('an unknown status is an IN303 invalid-input error (a failed attempt)', () => {
    const out = interpretJobResult({ status: 'completed' });
    expect(out.kind).toBe('error');
    if (out.kind !== 'error') return;
    expect(out.error.code).toBe(ErrorCode.JobProcessingFailed);
    expect(out.error.kind).toBe('invalid_input');
    expect(out.error.message).toContain('unknown result');
    expect(out.error.message).toContain('"completed"');
  });
});

describe('kit: withTimeout timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('clears its timer when the promise resolves first', async () => {
    vi.useFakeTimers();
    const p = withTimeout(Promise.resolve('ok'), 10_000, () => new Error('late'));
    expect(vi.getTimerCount()).toBe(1);
    await expect(p).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears its timer when the promise rejects first', async () => {
    vi.useFakeTimers();
    const p = withTimeout(Promise.reject(new Error('boom')), 10_000, () => new Error('late'));
    await expect(p).rejects.toThrow('boom');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('kit: isPlainObject', () => {
  it('accepts plain and null-prototype objects', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
  });

  it('refuses null, arrays and Dates', () => {
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(undefined)).toBe(false);
    expect(isPlainObject('text')).toBe(false);
  });

  it('accepts a class instance (only null, arrays and Dates are refused)', () => {
    class Point {
      x = 1;
    }
    expect(isPlainObject(new Point())).toBe(true);
  });
});

describe('kit: badQuery and badDocument', () => {
  it('badQuery is IN101 naming the field (default `query`)', () => {
    const err = badQuery('limit must be at most 1000', 'limit');
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe(ErrorCode.InvalidSearchQuery);
    expect(err.message).toBe('limit must be at most 1000');
    expect(err.field).toBe('limit');
    expect(badQuery('query must be a string').field).toBe('query');
  });

  it('badDocument is IN107 tagged with the provider, on the `document` field', () => {
    const err = badDocument('meilisearch', 'Document id must be a non-empty string');
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe(ErrorCode.InvalidDocument);
    expect(err.message).toBe('[meilisearch] Document id must be a non-empty string');
    expect(err.field).toBe('document');
  });
});

describe('kit: assertOptionsObject', () => {
  it('accepts an object', () => {
    expect(() => assertOptionsObject({}, 'redis')).not.toThrow();
    expect(() => assertOptionsObject({ url: 'redis://x' }, 'redis')).not.toThrow();
  });

  it.each([
    ['a string', 'redis://x'],
    ['a number', 42],
    ['undefined', undefined],
    ['an array', []],
    ['null', null],
  ])('refuses %s with IN002 tagged with the provider', (_what, value) => {
    const err = thrown(() => assertOptionsObject(value, 'redis'));
    expect(err.code).toBe(ErrorCode.InvalidConfiguration);
    expect(err.message).toBe('[redis] options must be an object');
  });
});
