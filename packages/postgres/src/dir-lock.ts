import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, IntegrationError } from '@fraiseql/core';

/** Lock file written inside an embedded data directory while a process has it open. */
export const LOCK_FILE = 'fraiseql.lock';

interface Holder {
  pid: number;
  host: string;
}

// Directories this process holds: a pid check cannot tell "me, earlier" from "me, right now".
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8'));
    return typeof h?.pid === 'number' && typeof h?.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(dir: string, holder: Holder | undefined): IntegrationError {
  const who = holder
    ? `process ${holder.pid}${holder.pid === process.pid ? ' (this process)' : ''}`
    : 'another process';
  return new IntegrationError(
    ErrorCode.InvalidConfiguration,
    `Embedded Postgres directory ${dir} is already open in ${who}. PGlite allows one process per ` +
      `directory: close the other client, use another embedded_dir, or use a Postgres server (url). ` +
      `If no process uses it, delete ${join(dir, LOCK_FILE)}.`,
    { field: 'embeddedDir' },
  );
}

/**
 * Takes the directory for this process, or throws IN002 while a live process on this host holds
 * it. A lock left by a dead process (crash, kill -9) or written on another host (a volume reused
 * by a new container) is taken over. Returns the release function.
 */
export function acquireDirLock(dir: string): () => void {
  const real = realpathSync(dir);
  const path = join(real, LOCK_FILE);
  if (held.has(real)) throw lockedError(real, { pid: process.pid, host: hostname() });
  const me: Holder = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new IntegrationError(
          ErrorCode.InvalidConfiguration,
          `Cannot lock embedded Postgres directory ${real}: ${(err as Error).message}`,
          { field: 'embeddedDir', cause: err },
        );
      }
      const holder = readHolder(path);
      // An unreadable lock may be one being written this instant: treat it as held.
      if (!holder) throw lockedError(real, undefined);
      const stale = holder.host !== me.host || holder.pid === process.pid || !alive(holder.pid);
      if (!stale) throw lockedError(real, holder);
      try {
        unlinkSync(path);
      } catch {
        // another process took it over first; the next attempt sees its lock
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    held.add(real);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(real);
      const holder = readHolder(path);
      if (holder && holder.pid === me.pid && holder.host === me.host) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    };
  }
  throw lockedError(real, readHolder(path));
}
