import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliJson, freePort, type RunResult, startServe } from './helpers.ts';

// Issue 21 item 6: while `serve` holds the embedded data directory, the operating commands go
// through its HTTP API and print exactly what a direct run prints on the same data.

const TOKEN = 'beside-serve-token';

/**
 * Output with the run-to-run noise masked: timings, health-check latency, and the error budget
 * (in-process accounting: the server's says what it has run, a fresh direct process starts full).
 */
function stable(r: RunResult): { code: number | null; stdout: string; stderr: string } {
  const mask = (s: string) =>
    s
      .replace(/hits in \d+ ms/g, 'hits in N ms')
      .replace(/"processingTimeMs": \d+/g, '"processingTimeMs": N')
      .replace(/"(checkLatencyMs|budgetRemaining)": [\d.]+/g, '"$1": N')
      .replace(/ (true|false) +(closed|open|half-open) +[\d.]+ +[\d.]+%/g, ' $1 $2 N N')
      .replace(/^(\S+) +/gm, '$1 ');
  return { code: r.code, stdout: mask(r.stdout), stderr: mask(r.stderr) };
}

describe('the CLI beside a running serve (embedded defaults)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fraiseql-beside-'));
  const other = mkdtempSync(join(tmpdir(), 'fraiseql-beside-other-'));
  afterAll(() => {
    rmSync(cwd, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
  const env = { FRAISEQL_API_TOKEN: TOKEN };
  const run = (args: string[], dir = cwd) => cli(args, { cwd: dir, env });

  it('status, queue, dlq, search and cache give the same output through the server as directly', async () => {
    const s = await startServe(['--port', String(await freePort())], { cwd, env });
    const serverFile = join(cwd, '.fraiseql', 'pglite', 'server.json');
    // Commands that only read, so the direct run afterwards sees the same data.
    const reads: string[][] = [
      ['status'],
      ['queue', 'stats', 'webhook'],
      ['dlq', 'list'],
      ['dlq', 'list', 'webhook', '--format', 'json'],
      ['search', 'query', 'products', 'widget', '--format', 'json'],
      ['search', 'query', 'products', '', '--sort', 'price:desc'],
      ['cache', 'get', 'absent'],
      ['queue', 'show', 'webhook', '00000000-0000-4000-8000-000000000000'],
      ['queue', 'stats', 'not a queue!'],
    ];
    let through: RunResult[];
    let failedId: string;
    try {
      expect(JSON.parse(readFileSync(serverFile, 'utf8'))).toEqual({ url: s.url, pid: s.child.pid });

      // Set up data through the server: a failed job, an index with documents, a cache entry.
      const enq = run([
        'queue',
        'enqueue',
        'webhook',
        '{"url":"http://127.0.0.1:1/down"}',
        '--max-retries',
        '0',
      ]);
      expect(enq.code, enq.stderr).toBe(0);
      failedId = enq.stdout.trim();
      expect(
        run(['search', 'configure', 'products', '--searchable', 'name', '--sortable', 'price']).code,
      ).toBe(0);
      writeFileSync(
        join(cwd, 'docs.jsonl'),
        '{"sku":"a1","name":"Blue widget","price":10}\n{"sku":"b2","name":"Red widget","price":30}\n',
      );
      const imported = cliJson(['search', 'import', 'products', 'docs.jsonl', '--primary-key', 'sku'], {
        cwd,
        env,
      });
      expect(imported.json).toMatchObject({ succeeded: 2, failed: 0 });
      await waitFor(
        () => cliJson(['queue', 'stats', 'webhook'], { cwd, env }).json.failed === 1,
        30_000,
        'the webhook job to fail',
      );

      // The memory cache lives in the server: only a command that goes through it sees the entry.
      expect(run(['cache', 'set', 'greeting', 'hello', '--ttl-ms', '60000']).code).toBe(0);
      expect(run(['cache', 'get', 'greeting'])).toMatchObject({ code: 0, stdout: 'hello\n' });
      const ttl = cliJson(['cache', 'ttl', 'greeting'], { cwd, env });
      expect(ttl.json.ttlMs).toBeGreaterThan(50_000);
      expect(run(['cache', 'del', 'greeting'])).toMatchObject({ code: 0 });
      expect(run(['cache', 'ttl', 'greeting']).code).toBe(1);

      reads.push(['queue', 'show', 'webhook', failedId], ['dlq', 'show', 'webhook', failedId]);
      through = reads.map((a) => run(a));

      // --url reaches the server from anywhere (here a directory with no data at all).
      const remote = run(['queue', 'stats', 'webhook', '--url', s.url, '--format', 'json'], other);
      expect(remote.code, remote.stderr).toBe(0);
      expect(JSON.parse(remote.stdout)).toMatchObject({ queue: 'webhook', failed: 1 });
      // …and the token is what the server checks.
      const noToken = cli(['queue', 'stats', 'webhook', '--url', s.url], {
        cwd: other,
        env: { FRAISEQL_API_TOKEN: 'wrong' },
      });
      expect(noToken.code).not.toBe(0);
      expect(noToken.stderr).toMatch(/error IN\d+/);
      expect(noToken.stderr).not.toContain('wrong');
    } finally {
      expect(await s.stop()).toBe(0);
    }
    expect(existsSync(serverFile)).toBe(false);

    // Same commands, same data, no server: the direct path.
    const direct = reads.map((a) => run(a));
    for (const [i, args] of reads.entries()) {
      expect(stable(through![i]!), args.join(' ')).toEqual(stable(direct[i]!));
    }
    // The outputs are meaningful, not just equal.
    const at = (...args: string[]) => direct[reads.findIndex((r) => r.join(' ') === args.join(' '))]!;
    expect(at('dlq', 'list').stdout).toContain(failedId!);
    expect(at('dlq', 'list').stdout).toMatch(/^QUEUE\s+ID/m);
    expect(at('cache', 'get', 'absent').code).toBe(1);
    expect(at('queue', 'stats', 'not a queue!').code).toBe(2);
    expect(at('queue', 'show', 'webhook', failedId!).stdout).toMatch(/lastError/);
    const found = JSON.parse(at('search', 'query', 'products', 'widget', '--format', 'json').stdout);
    expect(found.hits.map((h: { id: string }) => h.id).sort()).toEqual(['a1', 'b2']);

    // Retrying through the server and directly: the same answer for a job that is not failed.
    const retryMissing = ['queue', 'retry', 'webhook', '00000000-0000-4000-8000-000000000000'];
    const directRetry = run(retryMissing);
    const s2 = await startServe(['--port', String(await freePort())], { cwd, env });
    try {
      expect(stable(run(retryMissing))).toEqual(stable(directRetry));
      expect(run(['dlq', 'retry', 'webhook', failedId!])).toMatchObject({
        code: 0,
        stdout: `retried ${failedId!}\n`,
      });
    } finally {
      await s2.stop();
    }
  }, 240_000);

  it('ignores a server.json left by a dead process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-beside-stale-'));
    try {
      expect(run(['queue', 'stats', 'x'], dir).code).toBe(0); // creates the data directory
      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      writeFileSync(
        join(dir, '.fraiseql', 'pglite', 'server.json'),
        JSON.stringify({ url: 'http://127.0.0.1:1', pid: dead }),
      );
      const r = cliJson(['queue', 'stats', 'x'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toEqual({ queue: 'x', length: 0, failed: 0, paused: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
