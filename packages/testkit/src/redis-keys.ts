/** The two commands `dropRedisPrefix` needs (an ioredis client, or one master of a cluster). */
export interface RedisScanner {
  scan(
    cursor: string,
    matchToken: 'MATCH',
    pattern: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[cursor: string, elements: string[]]>;
  unlink(...keys: string[]): Promise<number>;
}

/**
 * Deletes every key under `prefix` with SCAN + UNLINK (never KEYS, which blocks the server for the
 * whole keyspace), so a test run leaves the shared Redis clean. In cluster mode call it per master.
 */
export async function dropRedisPrefix(client: RedisScanner, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}
