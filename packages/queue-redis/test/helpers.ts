import { checkService, dropRedisPrefix, uniqueName } from '@fraiseql/testkit';
import { Redis } from 'ioredis';

/** The shared Redis of the machine (skipped loudly when unreachable, unless FRAISEQL_REQUIRE_SERVICES=1). */
export const redis = await checkService('redis');

/** A hash-tagged BullMQ prefix no other test file or run uses. */
export function uniquePrefix(): string {
  return `{${uniqueName('fqr')}}`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK), so test runs leave the shared Redis clean. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await dropRedisPrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}
