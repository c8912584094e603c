// cache-memory against Keyv and cache-manager (their default in-memory stores, as a user gets
// them from `new Keyv()` / `createCache()`), and against lru-cache called directly — the library
// our memory cache is built on, i.e. the floor of what any wrapper can reach.
import { createMemoryCache } from '@fraiseql/cache-memory';
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { LRUCache } from 'lru-cache';
import { compareOne, microThroughput, microThroughputSync, throughput } from '../lib/harness.mjs';

const KEYS = 1000;
const TTL_MS = 3_600_000;
const IN_FLIGHT = 64;

export const name = 'cache-memory';

export async function run(ctx) {
  const rounds = ctx.quick ? 3 : 7;
  const ms = ctx.quick ? 150 : 350;
  // A Buffer: the contract's value type is bytes, and Keyv's serializer keeps Buffers as bytes
  // (base64 inside its JSON) where a bare Uint8Array would come back as a plain object.
  const value = Buffer.alloc(100, 7);
  const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
  const key = (i) => keys[i % KEYS];
  // String values under their own keys: each side gets back what it stores for a string (ours
  // UTF-8 bytes, a fresh copy per call; Keyv and cache-manager the string itself).
  const text = 'x'.repeat(100);
  const textKeys = Array.from({ length: KEYS }, (_, i) => `text:${i}`);
  const textKey = (i) => textKeys[i % KEYS];

  const ours = await createMemoryCache({ maxEntries: 10_000, purgeIntervalMs: 0 });
  const keyv = new Keyv();
  const manager = createCache();
  const lru = new LRUCache({ max: 10_000, ttl: TTL_MS, ttlAutopurge: false });
  for (const k of keys) {
    await ours.set(k, value);
    await keyv.set(k, value, TTL_MS);
    await manager.set(k, value, TTL_MS);
    lru.set(k, value);
  }
  for (const k of textKeys) {
    await ours.set(k, text);
    await keyv.set(k, text, TTL_MS);
    await manager.set(k, text, TTL_MS);
  }
  const rows = [];
  const micro = (op) => () => microThroughput(op, { ms });
  const many = (op) => () => throughput(op, { inFlight: IN_FLIGHT, ms });
  try {
    for (const [peerName, peer] of [
      ['Keyv (memory)', keyv],
      ['cache-manager (memory)', manager],
    ]) {
      rows.push(
        await compareOne({
          benchmark: 'cache-memory: get (async API, 100-byte value, hit)',
          unit: 'ops/s',
          aim: 1.5,
          peerName,
          rounds,
          log: ctx.log,
          ours: micro((i) => ours.get(key(i))),
          peer: micro((i) => peer.get(key(i))),
        }),
      );
      rows.push(
        await compareOne({
          benchmark: 'cache-memory: set (async API, 100-byte value, 1 h TTL)',
          unit: 'ops/s',
          aim: 1.5,
          peerName,
          rounds,
          log: ctx.log,
          ours: micro((i) => ours.set(key(i), value, TTL_MS)),
          peer: micro((i) => peer.set(key(i), value, TTL_MS)),
        }),
      );
      for (const [mode, sample] of [
        ['sequential', micro],
        [`${IN_FLIGHT} in flight`, many],
      ]) {
        rows.push(
          await compareOne({
            benchmark: `cache-memory: get (async API, 100-char string value, hit), ${mode}`,
            unit: 'ops/s',
            aim: 1.5,
            peerName,
            rounds,
            log: ctx.log,
            ours: sample((i) => ours.get(textKey(i))),
            peer: sample((i) => peer.get(textKey(i))),
          }),
        );
        rows.push(
          await compareOne({
            benchmark: `cache-memory: set (async API, 100-char string value, 1 h TTL), ${mode}`,
            unit: 'ops/s',
            aim: 1.5,
            peerName,
            rounds,
            log: ctx.log,
            ours: sample((i) => ours.set(textKey(i), text, TTL_MS)),
            peer: sample((i) => peer.set(textKey(i), text, TTL_MS)),
          }),
        );
      }
    }
    rows.push(
      await compareOne({
        benchmark: 'cache-memory: get (hit) vs the library underneath, called synchronously',
        unit: 'ops/s',
        aim: null,
        peerName: 'lru-cache get() directly (the limit)',
        rounds,
        log: ctx.log,
        ours: micro((i) => ours.get(key(i))),
        peer: () => microThroughputSync((i) => lru.get(key(i)), { ms }),
      }),
    );
  } finally {
    await ours.close();
    await keyv.disconnect?.();
    await manager.disconnect?.();
  }
  return rows;
}
