import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  REDIS_CLI_BIN,
  type RedisServer,
  rawCommand,
  redisServerInstalled,
  startRedisServer,
  waitFor,
} from './redis-server.ts';

/** True when both binaries a throwaway cluster needs (redis-server, redis-cli) are installed. */
export function redisClusterAvailable(): boolean {
  return redisServerInstalled() && existsSync(REDIS_CLI_BIN);
}

export interface RedisCluster {
  /** Seed nodes as `127.0.0.1:<port>`, one per master. */
  nodes: string[];
  /** Kills every node and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Number of masters (no replicas). Redis needs at least 3. Default 3. */
  masters?: number;
  /** Longest wait for the whole cluster to report `cluster_state:ok`. Default 30_000. */
  timeoutMs?: number;
}

/**
 * Starts a throwaway Redis Cluster of `masters` loopback nodes: each a `redis-server
 * --cluster-enabled yes` child on a port whose cluster-bus port (+10000) is free too, joined with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, and returned once every node
 * reports `cluster_state:ok`.
 */
export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!redisClusterAvailable()) throw new Error('redis-server / redis-cli are not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-redis-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    servers.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort({ plusClusterBus: true, exclude: ports }));
    for (const port of ports) {
      servers.push(
        await startRedisServer({
          port,
          dir,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await new Promise<void>((resolve, reject) => {
      execFile(
        REDIS_CLI_BIN,
        ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: timeoutMs },
        (err, stdout, stderr) => {
          if (err)
            reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}\n${stderr}`));
          else resolve();
        },
      );
    });
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on 127.0.0.1:${port}`,
        async () => (await rawCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'),
        timeoutMs,
      );
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
