import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkService, uniqueName } from '../../testkit/src/index.ts';
import { createSqlClient, type SqlClient } from '../src/index.ts';

export { uniqueName };

/** The real Postgres of this machine (or DATABASE_URL); suites skip loudly when it is down. */
export const pgService = await checkService('postgres');

export interface Backend {
  name: string;
  available: boolean;
  /** Opens a client; `cleanup` removes whatever it left on disk. */
  open(): Promise<{ sql: SqlClient; cleanup(): Promise<void> }>;
}

export function tempDir(prefix = 'fraiseql_pg'): string {
  return join(tmpdir(), uniqueName(prefix));
}

/** The same behaviour is checked on a real server, PGlite in memory and PGlite in a directory. */
export const backends: Backend[] = [
  {
    name: 'pg (real server)',
    available: pgService.available,
    open: async () => ({ sql: await createSqlClient({ url: pgService.url }), cleanup: async () => {} }),
  },
  {
    name: 'pglite (memory)',
    available: true,
    open: async () => ({ sql: await createSqlClient(), cleanup: async () => {} }),
  },
  {
    name: 'pglite (directory)',
    available: true,
    open: async () => {
      const dir = tempDir();
      return {
        sql: await createSqlClient({ embeddedDir: dir }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
];

/** Polls `check` until it returns something truthy; generous deadline for a loaded machine. */
export async function waitFor<T>(
  check: () => T | undefined | null | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise plus its resolver, to hold a transaction open at a known point. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** The rejection of `p`, failing the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** `waitFor` for an async check. */
export async function waitForAsync<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
