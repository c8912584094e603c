import { randomFillSync } from 'node:crypto';

/**
 * Job ids are UUIDs of version 7 (RFC 9562): the first 48 bits are the creation time in epoch
 * milliseconds, the rest random. A job message then needs no creation-time property of its own
 * (see `message.ts`: every byte of properties counts, see there), and ids sort by creation.
 */

/** Random bytes for many ids at once (10 per id), refilled when used up. */
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;
/** The time part of the last id (ids of one batch share their creation time). */
let lastMs = -1;
let lastPrefix = '';
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version 7 UUID whose timestamp is `ms` (epoch milliseconds, an integer below 2^48). */
export function uuidV7(ms: number): string {
  if (used + 10 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const b = pool;
  const o = used;
  used += 10;
  if (ms !== lastMs) {
    const t = ms.toString(16).padStart(12, '0');
    lastMs = ms;
    lastPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
  }
  return (
    `${lastPrefix}${HEX[b[o]! & 0x0f]![1]}${HEX[b[o + 1]!]}-` +
    `${HEX[(b[o + 2]! & 0x3f) | 0x80]}${HEX[b[o + 3]!]}-` +
    `${HEX[b[o + 4]!]}${HEX[b[o + 5]!]}${HEX[b[o + 6]!]}${HEX[b[o + 7]!]}${HEX[b[o + 8]!]}${HEX[b[o + 9]!]}`
  );
}

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The creation time (epoch ms) a version 7 UUID carries; undefined for any other id. */
export function uuidV7Time(id: string): number | undefined {
  if (id.length !== 36 || !V7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
