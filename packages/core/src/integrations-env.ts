import { ConfigError } from './config';
import { tieredEnvNeeds } from './config/cache-tiered';
import type { ConfigIssue } from './config/schema';
import type { IntegrationsConfig, TypesenseConfig } from './config/types';
import { ErrorCode } from './errors';

/** What `createIntegrations` reads from the environment: the `*_env` variables and host values. */

export interface EnvNeed {
  /** Config path of the `*_env` key, in the file's words. */
  key: string;
  variable: string;
}

export function envNeeds(config: IntegrationsConfig, usesSql: boolean): EnvNeed[] {
  const needs: EnvNeed[] = [];
  const s = config.search;
  if (s?.provider === 'meilisearch' || s?.provider === 'typesense') {
    needs.push({ key: 'search.host_env', variable: s.hostEnv });
  }
  if (s?.provider === 'algolia') needs.push({ key: 'search.app_id_env', variable: s.appIdEnv });
  if (s?.provider === 'elasticsearch') {
    needs.push({ key: 'search.url_env', variable: s.urlEnv });
    if (s.apiKeyEnv) needs.push({ key: 'search.api_key_env', variable: s.apiKeyEnv });
  } else if (s && s.provider !== 'postgresql') {
    needs.push({ key: 'search.api_key_env', variable: s.apiKeyEnv });
  }
  if (config.cache?.backend === 'redis') needs.push({ key: 'cache.url_env', variable: config.cache.urlEnv });
  needs.push(...tieredEnvNeeds(config.cache));
  const q = config.queues;
  if (q?.backend === 'redis' || q?.backend === 'rabbitmq')
    needs.push({ key: 'queues.url_env', variable: q.urlEnv });
  if (usesSql && config.postgres?.urlEnv)
    needs.push({ key: 'postgres.url_env', variable: config.postgres.urlEnv });
  return needs;
}

/** Every missing variable at once: fixing them one run at a time is tedious. */
export function resolveEnv(needs: EnvNeed[], env: Record<string, string | undefined>): Map<string, string> {
  const values = new Map<string, string>();
  const missing: ConfigIssue[] = [];
  for (const need of needs) {
    const value = env[need.variable]?.trim();
    if (value) values.set(need.key, value);
    else {
      missing.push({
        path: need.key,
        message: `Missing environment variable ${need.variable} (named by ${need.key})`,
      });
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(ErrorCode.MissingEnvVar, missing.map((m) => m.message).join('; '), missing);
  }
  return values;
}

function badEnvValue(key: string, variable: string, why: string): ConfigError {
  const message = `Environment variable ${variable} (named by ${key}) ${why}`;
  return new ConfigError(ErrorCode.InvalidConfiguration, message, [{ path: key, message }]);
}

/** `[postgres] url_env` must hold a PostgreSQL URL (seed 002 refuses MySQL and SQLite URLs). */
export function postgresUrl(raw: string, variable: string): string {
  if (!/^postgres(ql)?:\/\//i.test(raw)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1];
    throw badEnvValue(
      'postgres.url_env',
      variable,
      `is not a PostgreSQL URL (${scheme ? `scheme ${scheme}:` : 'no scheme'}; expected postgres:// or postgresql://)`,
    );
  }
  return raw;
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Meilisearch takes a URL; `localhost:7700` is taken to mean `http://localhost:7700`. */
export function httpUrl(raw: string): string {
  return HAS_SCHEME.test(raw) ? raw : `http://${raw}`;
}

/**
 * Typesense wants `{ host, port, protocol }`. The variable may hold a URL
 * (`https://xyz.typesense.net`) or a hostname (`localhost`, `localhost:8108`); a URL without a
 * port uses `port` (default 8108; 443 for an https URL).
 */
export function typesenseNode(
  raw: string,
  cfg: Pick<TypesenseConfig, 'port' | 'protocol' | 'hostEnv'>,
): { host: string; port: number; protocol: 'http' | 'https' } {
  const fail = (why: string) => badEnvValue('search.host_env', cfg.hostEnv, why);
  if (HAS_SCHEME.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw fail('is not a valid URL');
    }
    const protocol = url.protocol.slice(0, -1);
    if (protocol !== 'http' && protocol !== 'https')
      throw fail(`uses ${protocol}:, expected http: or https:`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : (cfg.port ?? (protocol === 'https' ? 443 : 8108));
    return { host, port, protocol };
  }
  const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (!m) throw fail('is neither a URL nor host[:port]');
  const port = m[2] ? Number(m[2]) : (cfg.port ?? 8108);
  if (port < 1 || port > 65535) throw fail('has a port outside 1-65535');
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port, protocol: cfg.protocol ?? 'http' };
}
