// The bench cannot import @fraiseql/testkit (it pulls in vitest); same SCAN + UNLINK as its
// dropRedisPrefix.

/**
 * Deletes every key under `prefix` with SCAN + UNLINK (never KEYS, which blocks the shared server
 * for the whole keyspace), so a run leaves Redis as it found it.
 */
export async function dropRedisPrefix(client, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}
