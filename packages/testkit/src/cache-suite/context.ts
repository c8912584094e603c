import type { CacheProvider } from '@fraiseql/core';
import { expect } from 'vitest';

/** What `describeCacheProvider` passes to the factory; the factory maps it onto its own options. */
export interface CacheFactoryOptions {
  /** A fresh, unique prefix per provider (e.g. `cache_k3x9…:`), so tests never collide. */
  prefix: string;
  /** Set only by tests of the default TTL; otherwise the provider's own default (1 hour) applies. */
  defaultTtlMs?: number;
  /** Set only by the oversized-value tests; otherwise the provider's own limit applies. */
  maxValueBytes?: number;
}

export type CacheFactory = (opts: CacheFactoryOptions) => Promise<CacheProvider>;

/** Handed to `additionalTests`, so backend-specific tests get the suite's lifecycle for free. */
export interface CacheSuiteContext {
  /** The provider of the running test: created before it with a unique prefix, closed after it. */
  readonly cache: CacheProvider;
  /** The prefix `cache` was created with. */
  readonly prefix: string;
  /** Another provider (unique prefix unless given), closed after the running test. */
  create(opts?: Partial<CacheFactoryOptions>): Promise<CacheProvider>;
}

export interface CacheSuiteOptions {
  /** Registers backend-specific tests inside the suite's `describe`, sharing its lifecycle. */
  additionalTests?: (ctx: CacheSuiteContext) => void;
  /**
   * Longest wait for an entry with a short TTL to disappear. Raise it for a backend whose clock
   * is coarse or remote. Default 10_000.
   */
  expiryTimeoutMs?: number;
}

/** What every topic function of the cache suite receives. */
export interface CacheTopicContext {
  /** The suite's context: `ctx.cache` is the running test's provider. */
  readonly ctx: CacheSuiteContext;
  /** Same as `ctx.create`: another provider, closed after the running test. */
  readonly create: CacheSuiteContext['create'];
  /** Longest wait for a short-TTL entry to disappear (`CacheSuiteOptions.expiryTimeoutMs`). */
  readonly expiryTimeoutMs: number;
  /** Timeout of a test that waits for an expiry. */
  readonly expiryTestTimeout: number;
}

export const SHORT_TTL_MS = 300;
export const HOUR_MS = 3_600_000;
/**
 * Slack for comparing our clock with the backend's (ms rounding, a monotonic vs a wall clock).
 * Only used in "not earlier than" checks, which load cannot break.
 */
export const CLOCK_SLACK_MS = 30;
export const BAD_TTLS: [string, unknown][] = [
  ['0', 0],
  ['-1', -1],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ["the string '5'", '5'],
];

export const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function bytes(value: Uint8Array | null): number[] | null {
  return value === null ? null : Array.from(value);
}

export function text(value: Uint8Array | null): string | null {
  return value === null ? null : decoder.decode(value);
}

/** Escapes `\`, `*` and `?` so a key can be used as a glob naming exactly itself. */
export function globEscape(key: string): string {
  return key.replace(/[\\*?]/g, '\\$&');
}

/** Polls `check` until it is true; fails (naming `what`) after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
