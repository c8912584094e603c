import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { createRedisCache } from '@fraiseql/cache-redis';
import { createIntegrations } from '@fraiseql/core';
import { createLogger } from '@fraiseql/observability';
import { createSqlClient } from '@fraiseql/postgres';
import { createRabbitQueue } from '@fraiseql/queue-rabbitmq';
import { createRedisQueue } from '@fraiseql/queue-redis';
import { createMeilisearchSearch } from '@fraiseql/search-meilisearch';
import { checkService, startFakeMeilisearch } from '@fraiseql/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type RedisServer,
  rawCommand,
  redisServerInstalled,
  startRedisServer,
} from '../../redis-server';
import { record } from './support/results';

/**
 * Scenario 6 — secrets. Passwords in URLs, API keys and tokens must never appear in error
 * messages (message, stack, JSON body, the logged form with its cause chain), in logs, in the
 * server's `/health`, `/slo`, `/metrics`, `/openapi.json` or error bodies, or in CLI output.
 * Every secret is random per run, so a hit can only be a leak.
 */

const secret = (label: string) => `${label}-${randomBytes(9).toString('hex')}`;
const REDIS_PW = secret('redispw');
const PG_PW = secret('pgpw');
const AMQP_PW = secret('amqppw');
const MEILI_KEY = secret('meilikey');
const API_TOKEN = secret('apitoken');
const WRONG_TOKEN = secret('wrongtoken');
const SECRETS = [REDIS_PW, PG_PW, AMQP_PW, MEILI_KEY, API_TOKEN, WRONG_TOKEN];

const CLI_BIN = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));

interface Surface {
  where: string;
  text: string;
}

/** Every secret found in every surface ("where: secret-label"). */
function leaks(surfaces: Surface[]): string[] {
  const found: string[] = [];
  for (const s of surfaces) {
    for (const value of SECRETS) {
      for (const form of [value, encodeURIComponent(value), Buffer.from(value).toString('base64')]) {
        const at = s.text.indexOf(form);
        if (at >= 0) {
          // Where it was found, with the secret itself masked in the report.
          const around = s.text.slice(Math.max(0, at - 60), at + form.length + 20).replace(form, '<SECRET>');
          found.push(`${s.where}: ${value.split('-')[0]} in …${around}…`);
        }
      }
    }
  }
  return found;
}

/** A stream that keeps what a logger writes. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

/** What a user or a log collector can see of an error. */
function errorSurfaces(label: string, err: unknown): Surface[] {
  const e = err as Error & { toJSON?: () => unknown };
  return [
    { where: `${label} message`, text: String(e?.message) },
    { where: `${label} stack`, text: String(e?.stack) },
    { where: `${label} String()`, text: String(e) },
    { where: `${label} JSON`, text: JSON.stringify(e?.toJSON ? e.toJSON() : e) },
  ];
}

/** `util.inspect` shows the whole cause chain (what `console.error(err)` prints): reported apart. */
function inspectSurface(label: string, err: unknown): Surface {
  return { where: `${label} inspect`, text: inspect(err, { depth: 10 }) };
}

async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    const made = (await fn()) as { close?: () => Promise<void> };
    await made?.close?.();
    return new Error('expected a failure, got success');
  } catch (err) {
    return err;
  }
}

let redis: RedisServer | undefined;

/** A dedicated Redis that requires REDIS_PW (set after start: the helper's readiness PING has no AUTH). */
async function startPasswordRedis(): Promise<RedisServer> {
  const server = await startRedisServer();
  const reply = await rawCommand(server.port, ['CONFIG', 'SET', 'requirepass', REDIS_PW]);
  if (!reply.startsWith('+OK')) throw new Error(`CONFIG SET requirepass failed: ${reply}`);
  return server;
}
const tempDirs: string[] = [];
afterAll(async () => {
  await redis?.stop();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

const pg = await checkService('postgres');
const amqp = await checkService('rabbitmq');

describe.skipIf(!redisServerInstalled())('secrets', () => {
  it('never appear in provider errors or in the logs that carry them', async () => {
    redis ??= await startPasswordRedis();
    const closedPort = await freePort();
    const meili = await startFakeMeilisearch({ apiKey: secret('rightkey') });
    const cases: [string, () => Promise<unknown>][] = [
      [
        'redis cache, unreachable',
        () =>
          createRedisCache({ url: `redis://:${REDIS_PW}@127.0.0.1:${closedPort}`, connectTimeoutMs: 1000 }),
      ],
      [
        'redis cache, wrong password',
        () =>
          createRedisCache({ url: `redis://:${REDIS_PW}x@127.0.0.1:${redis!.port}`, connectTimeoutMs: 2000 }),
      ],
      [
        'redis queue, wrong password',
        () =>
          createRedisQueue({ url: `redis://:${REDIS_PW}x@127.0.0.1:${redis!.port}`, connectTimeoutMs: 2000 }),
      ],
      [
        'redis queue, unreachable',
        () =>
          createRedisQueue({ url: `redis://:${REDIS_PW}@127.0.0.1:${closedPort}`, connectTimeoutMs: 1000 }),
      ],
      [
        'postgres, unreachable',
        () =>
          createSqlClient({
            url: `postgres://postgres:${PG_PW}@127.0.0.1:${closedPort}/test`,
            poolOptions: { connectionTimeoutMillis: 1000 },
          }),
      ],
      [
        'meilisearch, wrong api key',
        async () => {
          const s = await createMeilisearchSearch({ host: meili.url, apiKey: MEILI_KEY });
          try {
            return await s.search({ index: 'products', query: 'x' });
          } finally {
            await s.close();
          }
        },
      ],
      [
        'createIntegrations, unreachable redis from the environment',
        () =>
          createIntegrations(
            { cache: { backend: 'redis', urlEnv: 'FAULTS_REDIS_URL' } },
            { env: { FAULTS_REDIS_URL: `redis://:${REDIS_PW}@127.0.0.1:${closedPort}` } },
          ),
      ],
    ];
    if (pg.available) {
      const u = new URL(pg.url);
      cases.push([
        'postgres, wrong database with a password',
        () =>
          createSqlClient({
            url: `postgres://postgres:${PG_PW}@${u.host}/faults_no_such_db_${randomBytes(4).toString('hex')}`,
          }),
      ]);
    }
    if (amqp.available) {
      const u = new URL(amqp.url);
      cases.push(
        [
          'rabbitmq, wrong password',
          () => createRabbitQueue({ url: `amqp://guest:${AMQP_PW}@${u.host}`, connectTimeoutMs: 5000 }),
        ],
        [
          'rabbitmq, unreachable',
          () =>
            createRabbitQueue({
              url: `amqp://guest:${AMQP_PW}@127.0.0.1:${closedPort}`,
              connectTimeoutMs: 1000,
            }),
        ],
      );
    }
    const log = capture();
    const logger = createLogger({ destination: log.stream, level: 'trace' });
    const surfaces: Surface[] = [];
    const inspected: Surface[] = [];
    const codes: string[] = [];
    try {
      for (const [label, fn] of cases) {
        const err = await failure(fn);
        codes.push(`${(err as { code?: string }).code ?? 'uncoded'}`);
        surfaces.push(...errorSurfaces(label, err));
        inspected.push(inspectSurface(label, err));
        // The ways an application logs an error.
        logger.error(err as Error);
        logger.error({ err }, `${label} failed`);
        logger.warn(err as Error, 'provider failed: %s', (err as Error).message);
      }
      // Secrets handed to the logger directly, as careless code would.
      logger.info(
        {
          url: `redis://:${REDIS_PW}@cache.internal:6379/0`,
          dsn: `postgres://app:${PG_PW}@db.internal/app`,
          headers: { authorization: `Bearer ${API_TOKEN}`, 'x-meili-api-key': MEILI_KEY },
          options: { apiKey: MEILI_KEY, password: REDIS_PW, nested: { token: API_TOKEN } },
        },
        'connecting',
      );
      logger.info(`connecting to amqp://guest:${AMQP_PW}@mq.internal:5672 with Bearer ${API_TOKEN}`);
      logger.child({ dsn: `postgres://app:${PG_PW}@db.internal/app` }).info('child bindings');
    } finally {
      await meili.close();
    }
    surfaces.push({ where: 'log', text: log.text() });
    const found = leaks(surfaces);
    const foundInInspect = leaks(inspected);
    record(
      'secrets',
      'errors-and-logs',
      {
        failures: cases.length,
        codes: codes.join(' '),
        surfacesChecked: surfaces.length,
        leaks: found.length,
        leaksInInspect: foundInInspect.length,
      },
      `${cases.length} failing connections/logins with secrets in URLs and keys (${codes.join(' ')}): ` +
        `${surfaces.length} surfaces (message, stack, JSON, logs), ${found.length} leaks; ` +
        `util.inspect of the cause chain: ${foundInInspect.length} leaks`,
    );
    expect(
      codes.every((c) => /^IN\d{3}$/.test(c)),
      codes.join(' '),
    ).toBe(true);
    expect(found).toEqual([]);
    expect(foundInInspect).toEqual([]);
    expect(log.text().length).toBeGreaterThan(0);
  }, 120_000);

  it('never appear in CLI output or in the served /health, /slo, /metrics and error bodies', async () => {
    redis ??= await startPasswordRedis();
    const meili = await startFakeMeilisearch({ apiKey: MEILI_KEY });
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-faults-secrets-'));
    tempDirs.push(dir);
    const config = join(dir, 'fraiseql.toml');
    writeFileSync(
      config,
      [
        '[search]',
        'provider = "meilisearch"',
        'host_env = "MEILISEARCH_HOST"',
        'api_key_env = "MEILISEARCH_API_KEY"',
        '[cache]',
        'backend = "redis"',
        'url_env = "FAULTS_REDIS_URL"',
        'prefix = "faults_secrets:"',
        '[queues]',
        'backend = "redis"',
        'url_env = "FAULTS_REDIS_URL"',
        'prefix = "{faults_secrets}"',
        '',
      ].join('\n'),
    );
    const deadConfig = join(dir, 'dead.toml');
    writeFileSync(deadConfig, '[cache]\nbackend = "redis"\nurl_env = "FAULTS_REDIS_URL"\n');
    const port = await freePort();
    const env = {
      ...process.env,
      FAULTS_REDIS_URL: `redis://:${REDIS_PW}@127.0.0.1:${redis.port}`,
      MEILISEARCH_HOST: meili.url,
      MEILISEARCH_API_KEY: MEILI_KEY,
      FRAISEQL_API_TOKEN: API_TOKEN,
      LOG_LEVEL: 'info',
    };
    const surfaces: Surface[] = [];
    const runCli = (args: string[], extraEnv: Record<string, string> = {}) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI_BIN, ...args], {
          cwd: dir,
          env: { ...env, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });

    // One-shot commands, healthy and not.
    const dead = { FAULTS_REDIS_URL: `redis://:${REDIS_PW}@127.0.0.1:1` };
    const commands: [string, string[], Record<string, string>][] = [
      ['status', ['status', '--config', config], {}],
      ['status --format json', ['status', '--config', config, '--format', 'json'], {}],
      ['status (redis unreachable)', ['status', '--config', deadConfig], dead],
      ['status json (redis unreachable)', ['status', '--config', deadConfig, '--format', 'json'], dead],
      ['validate-config --detailed', ['validate-config', config, '--detailed'], {}],
      ['cache get (redis unreachable)', ['cache', 'get', 'k', '--config', deadConfig], dead],
      [
        'cache get (wrong password)',
        ['cache', 'get', 'k', '--config', deadConfig],
        { FAULTS_REDIS_URL: `redis://:${REDIS_PW}x@127.0.0.1:${redis.port}` },
      ],
    ];
    const exits: string[] = [];
    for (const [label, args, extra] of commands) {
      const r = await runCli(args, extra);
      exits.push(`${label}=${r.code}`);
      surfaces.push({ where: `cli ${label}`, text: r.out });
    }

    // The server (the CLI's `serve`), its responses and its logs.
    const serve = spawn(process.execPath, [CLI_BIN, 'serve', '--config', config, '--port', String(port)], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let serveOut = '';
    serve.stdout.on('data', (d) => (serveOut += d));
    serve.stderr.on('data', (d) => (serveOut += d));
    const served: Record<string, number> = {};
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      while (!serveOut.includes('listening on')) {
        if (Date.now() > deadline || serve.exitCode !== null)
          throw new Error(`serve did not start:\n${serveOut}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const get = async (path: string, token?: string, init: RequestInit = {}) => {
        const res = await fetch(`${base}${path}`, {
          ...init,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
        });
        const text = await res.text();
        served[
          `${init.method ?? 'GET'} ${path}${token === WRONG_TOKEN ? ' (wrong token)' : token ? '' : ' (no token)'}`
        ] = res.status;
        surfaces.push({ where: `http ${path} ${res.status}`, text: text + JSON.stringify([...res.headers]) });
        return res.status;
      };
      expect(await get('/health')).toBe(200);
      await get('/slo', API_TOKEN);
      await get('/metrics', API_TOKEN);
      await get('/openapi.json', API_TOKEN);
      await get('/slo', WRONG_TOKEN);
      await get('/slo');
      // Credentials a client wrongly put in the query string must not reach the request logs.
      await get(`/slo?access_token=${API_TOKEN}`, API_TOKEN);
      await get(`/health?api_key=${MEILI_KEY}`);
      await get('/search/products', API_TOKEN, {
        method: 'POST',
        body: JSON.stringify({ query: 'x' }),
        headers: { 'content-type': 'application/json' },
      });
      await get('/queues/emails/jobs', API_TOKEN, {
        method: 'POST',
        body: JSON.stringify({ data: { password: REDIS_PW, apiKey: MEILI_KEY } }),
        headers: { 'content-type': 'application/json' },
      });
      // Backends gone: /health turns 503 and says why — without the credentials.
      await meili.close();
      await redis.kill();
      expect(await get('/health')).toBe(503);
      await get('/cache/k', API_TOKEN);
      await redis.start();
      await rawCommand(redis.port, ['CONFIG', 'SET', 'requirepass', REDIS_PW]);
    } finally {
      serve.kill('SIGTERM');
      const timer = setTimeout(() => serve.kill('SIGKILL'), 30_000);
      await new Promise((r) => serve.once('close', r));
      clearTimeout(timer);
      await meili.close().catch(() => {});
    }
    surfaces.push({ where: 'serve stdout+stderr', text: serveOut });
    const found = leaks(surfaces);
    record(
      'secrets',
      'cli-and-server',
      {
        cliCommands: commands.length,
        httpResponses: Object.keys(served).length,
        surfacesChecked: surfaces.length,
        leaks: found.length,
      },
      `${commands.length} CLI commands (${exits.join(', ')}), ${Object.keys(served).length} HTTP responses ` +
        `(/health 200 and 503, /slo, /metrics, /openapi.json, 401/403/404/5xx bodies) and the serve logs: ${found.length} leaks`,
    );
    expect(found).toEqual([]);
    expect(served['GET /slo (no token)']).toBe(401);
    expect(served['GET /slo (wrong token)']).toBe(403);
    expect(serveOut.length).toBeGreaterThan(0);
  }, 180_000);
});
