import { globToRedisPattern, globToRegExp, isLiteralGlob, MAX_KEY_BYTES, parseGlob } from '@fraiseql/core';
import type { Cluster, Redis } from 'ioredis';

const ESCAPE_REDIS = /[\\*?[\]^]/g;

/** Escapes every character Redis' MATCH treats specially, so `text` matches only itself. */
function redisLiteral(text: string): string {
  return text.replace(ESCAPE_REDIS, '\\$&');
}

/** Where `deletePattern` looks: the client, our prefix and the client's own ioredis `keyPrefix`. */
export interface PatternScope {
  client: Redis | Cluster;
  /** The provider's prefix. */
  prefix: string;
  /** ioredis' own keyPrefix on a caller's client: SCAN returns keys with it, commands add it. */
  clientKeyPrefix: string;
  /** SCAN `COUNT` hint and the most keys one UNLINK removes. */
  scanCount: number;
}

/**
 * Deletes the keys under the prefix matching the glob `pattern`: a pattern without wildcards is
 * one UNLINK, any other a SCAN of every master. Driver errors are the caller's to map.
 */
export async function deleteByPattern(scope: PatternScope, pattern: string): Promise<number> {
  const { client, clientKeyPrefix } = scope;
  if (isLiteralGlob(pattern)) return deleteLiteral(scope, pattern);

  const tokens = parseGlob(pattern);
  const scanPrefix = clientKeyPrefix + scope.prefix;
  // Redis' `?` matches one byte, ours one character: with a `?` we scan for a superset (`?*`,
  // one or more bytes) and keep exactly the keys our glob matches.
  const exact = tokens.every((t) => t.type !== 'one');
  const body = exact
    ? globToRedisPattern(pattern)
    : tokens.map((t) => (t.type === 'any' ? '*' : t.type === 'one' ? '?*' : redisLiteral(t.value))).join('');
  const match = redisLiteral(scanPrefix) + body;
  const regex = exact ? undefined : globToRegExp(pattern);
  const skip = Buffer.byteLength(scanPrefix);
  const stripBytes = Buffer.byteLength(clientKeyPrefix);

  const masters = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  const counts = await Promise.all(
    masters.map((node) =>
      scanAndUnlink(scope, node, match, (raw) => {
        if (regex && !regex.test(raw.subarray(skip).toString('utf8'))) return undefined;
        return stripBytes > 0 ? raw.subarray(stripBytes) : raw;
      }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function deleteLiteral(scope: PatternScope, pattern: string): Promise<number> {
  const key = parseGlob(pattern)
    .map((t) => (t.type === 'literal' ? t.value : ''))
    .join('');
  // A key we could never have stored matches nothing.
  if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) return 0;
  return scope.client.unlink(scope.prefix + key);
}

/**
 * SCAN one node with MATCH and UNLINK what each page returns. Deleting while scanning is safe:
 * SCAN still returns every key that exists throughout, and a key seen twice is counted once
 * because the second UNLINK removes nothing. Counts what UNLINK removed, not what SCAN saw.
 */
async function scanAndUnlink(
  scope: PatternScope,
  node: Redis,
  match: string,
  select: (raw: Buffer) => Buffer | undefined,
): Promise<number> {
  const { scanCount } = scope;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await node.scanBuffer(cursor, 'MATCH', match, 'COUNT', scanCount);
    cursor = next.toString('latin1');
    const keys: Buffer[] = [];
    for (const raw of found) {
      const k = select(raw);
      if (k) keys.push(k);
    }
    for (let i = 0; i < keys.length; i += scanCount)
      deleted += await unlink(scope.client, keys.slice(i, i + scanCount));
  } while (cursor !== '0');
  return deleted;
}

async function unlink(client: Redis | Cluster, keys: Buffer[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!client.isCluster) return client.unlink(...keys);
  // A multi-key UNLINK across hash slots fails with CROSSSLOT: one UNLINK per key, which
  // auto-pipelining (or the cluster's own routing) batches per node.
  const results = await Promise.all(keys.map((k) => client.unlink(k)));
  return results.reduce((a, b) => a + b, 0);
}
