import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when rabbitmqctl can talk to the broker (it needs root or the broker's cookie). */
export async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['-q', 'list_connections', 'pid'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Has the broker close (as an operator would) every connection whose client-provided name
 * contains `marker` — only ours, never another suite's. Returns how many it closed.
 */
export async function closeConnectionsNamed(marker: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties'], {
    timeout: 30_000,
  });
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'));
  await Promise.all(
    pids.map((pid) =>
      run('rabbitmqctl', ['-q', 'close_connection', pid, 'fraiseql faults: simulated operator close'], {
        timeout: 30_000,
      }).catch(() => {}),
    ),
  );
  return pids.length;
}
