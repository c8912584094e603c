import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IntegrationsConfig } from '@fraiseql/core';

/**
 * `serve` writes `server.json` ({ url, pid }) next to the PGlite lock (`fraiseql.lock`) in the
 * embedded data directory while it holds it, so the other commands can find the server that has
 * the directory and talk to it instead of failing on the lock. Removed on shutdown; a file left by
 * a dead process (kill -9) is ignored because its pid is not alive.
 */
export const SERVER_FILE = 'server.json';

export interface ServerFile {
  url: string;
  pid: number;
}

/** The embedded (PGlite) data directory `config` opens, or undefined when it opens none. */
export function embeddedDirOf(config: IntegrationsConfig): string | undefined {
  const c = config as { postgres?: { urlEnv?: string; embeddedDir?: string } };
  if (!c.postgres || c.postgres.urlEnv) return undefined;
  return resolve(c.postgres.embeddedDir ?? '.fraiseql/pglite');
}

export function writeServerFile(dir: string, url: string): () => void {
  const path = join(dir, SERVER_FILE);
  const body: ServerFile = { url, pid: process.pid };
  writeFileSync(path, `${JSON.stringify(body)}\n`);
  return () => {
    try {
      // Only our own file: a newer server may have replaced it.
      if ((JSON.parse(readFileSync(path, 'utf8')) as ServerFile).pid === process.pid) rmSync(path);
    } catch {
      // already gone
    }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live server holding `dir`, or undefined (no file, unreadable, or its process is gone). */
export function readServerFile(dir: string): ServerFile | undefined {
  try {
    const f = JSON.parse(readFileSync(join(dir, SERVER_FILE), 'utf8')) as Partial<ServerFile>;
    if (typeof f.url !== 'string' || typeof f.pid !== 'number' || f.pid === process.pid) return undefined;
    return alive(f.pid) ? (f as ServerFile) : undefined;
  } catch {
    return undefined;
  }
}
