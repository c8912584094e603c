import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export type ServiceKind = 'postgres' | 'redis' | 'rabbitmq';

const DEFAULT_URLS: Record<ServiceKind, { env: string; url: string; port: number }> = {
  postgres: { env: 'DATABASE_URL', url: 'postgres://postgres@127.0.0.1:5432/test', port: 5432 },
  redis: { env: 'REDIS_URL', url: 'redis://127.0.0.1:6379', port: 6379 },
  rabbitmq: { env: 'AMQP_URL', url: 'amqp://guest:guest@127.0.0.1:5672', port: 5672 },
};

/** The URL a suite uses for a real service: the env var (`DATABASE_URL`, `REDIS_URL`, `AMQP_URL`) or the local default. */
export function serviceUrl(kind: ServiceKind): string {
  const d = DEFAULT_URLS[kind];
  return process.env[d.env] || d.url;
}

/** True when `FRAISEQL_REQUIRE_SERVICES=1`: an unreachable service fails the run instead of skipping. */
export function servicesRequired(): boolean {
  return process.env.FRAISEQL_REQUIRE_SERVICES === '1' || process.env.FRAISEQL_REQUIRE_SERVICES === 'true';
}

/** TCP reachability of a URL's host:port within `timeoutMs`. */
export function canConnect(url: string, defaultPort: number, timeoutMs = 2000): Promise<boolean> {
  let host = '127.0.0.1';
  let port = defaultPort;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '') || host;
    port = u.port ? Number(u.port) : defaultPort;
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface ServiceCheck {
  kind: ServiceKind;
  url: string;
  available: boolean;
}

/**
 * Checks a real service before a suite uses it. Unreachable: with `FRAISEQL_REQUIRE_SERVICES=1`
 * this throws (the test file fails); otherwise it prints one loud line and returns
 * `available: false` so the caller can `describe.skipIf(!check.available)`.
 */
export async function checkService(kind: ServiceKind): Promise<ServiceCheck> {
  const url = serviceUrl(kind);
  const available = await canConnect(url, DEFAULT_URLS[kind].port);
  if (!available) {
    const where = url.replace(/\/\/[^@/]*@/, '//***@');
    const line = `${kind} is not reachable at ${where} (set ${DEFAULT_URLS[kind].env})`;
    if (servicesRequired()) throw new Error(`FRAISEQL_REQUIRE_SERVICES=1 but ${line}`);
    console.warn(
      `\n!!! SKIPPING ${kind.toUpperCase()} SUITES: ${line}. Set FRAISEQL_REQUIRE_SERVICES=1 to make this fail.\n`,
    );
  }
  return { kind, url, available };
}

/** A name no other test, process or earlier run uses: `${prefix}_${pid36}${random}` (lowercase, `[a-z0-9_]`). */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid.toString(36)}${randomBytes(5).toString('hex')}`.toLowerCase();
}
