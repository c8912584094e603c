import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@fraiseql/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// Docker cannot run on our machines: these checks keep docker/ honest without it.
const docker = fileURLToPath(new URL('../../../docker/', import.meta.url));

describe('docker/ files', () => {
  const compose = parse(readFileSync(`${docker}compose.yml`, 'utf8')) as {
    services: Record<string, any>;
    volumes: Record<string, unknown>;
  };

  it('compose.yml parses and has every backend, Prometheus, Grafana and the apps', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'elasticsearch',
        'grafana',
        'meilisearch',
        'postgres',
        'prometheus',
        'rabbitmq',
        'redis',
        'server',
        'typesense',
        'worker',
      ].sort(),
    );
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image ?? svc.build, `${name} has an image or a build`).toBeTruthy();
      for (const dep of Object.keys(
        Array.isArray(svc.depends_on)
          ? Object.fromEntries(svc.depends_on.map((d: string) => [d, 1]))
          : (svc.depends_on ?? {}),
      )) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
      }
    }
  });

  it('mounts files that exist, and named volumes that are declared', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const [src] = v.split(':');
        if (src!.startsWith('.')) expect(existsSync(`${docker}${src}`), `${name} mounts ${src}`).toBe(true);
        else expect(compose.volumes[src!], `${name} uses volume ${src}`).not.toBeUndefined();
      }
    }
  });

  it('the apps get a token (the server refuses to listen off loopback without one) and build from the Dockerfile', () => {
    for (const app of ['server', 'worker']) {
      expect(compose.services[app].environment.FRAISEQL_API_TOKEN).toMatch(/FRAISEQL_API_TOKEN/);
      expect(compose.services[app].build.dockerfile).toBe('docker/Dockerfile');
    }
    const dockerfile = readFileSync(`${docker}Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/pnpm deploy --filter @fraiseql\/cli/);
    expect(dockerfile).toMatch(/^FROM .* AS runtime$/m);
    expect(dockerfile).toContain('USER node');
  });

  it('the config the apps mount names only env vars for secrets', () => {
    const toml = readFileSync(`${docker}fraiseql.toml`, 'utf8');
    expect(toml).not.toMatch(/(password|api_key|secret)\s*=/i);
    const config = parseConfig(toml, { sourceName: 'docker/fraiseql.toml' });
    expect(config.search?.provider).toBe('meilisearch');
    expect(config.queues?.queues?.['search.index']?.maxRetries).toBe(3);
  });
});

describe('docker/compose.<topology>.yml (DEPLOYMENT.md)', () => {
  const topologies = {
    'postgresql-only': '01-postgresql-only.toml',
    'postgresql-redis': '02-postgresql-redis.toml',
    'nats-distributed': '03-nats-distributed.toml',
    'multi-database-bridge': '04-multi-database-bridge.toml',
  };
  it.each(Object.entries(topologies))('compose.%s.yml runs its topology file with observe', (name, toml) => {
    // Compose resolves YAML merge keys (`<<: *observer`).
    const file = parse(readFileSync(`${docker}compose.${name}.yml`, 'utf8'), { merge: true }) as {
      services: Record<string, any>;
      volumes?: Record<string, unknown>;
    };
    const observers = Object.entries(file.services).filter(
      ([, s]) => Array.isArray(s.command) && s.command[0] === 'observe',
    );
    expect(observers.length).toBeGreaterThanOrEqual(2);
    for (const [svc, s] of Object.entries(file.services)) {
      expect(s.image ?? s.build, `${svc} has an image or a build`).toBeTruthy();
      if (s.build) expect(s.build.dockerfile).toBe('docker/Dockerfile');
      for (const dep of Object.keys(s.depends_on ?? {}))
        expect(file.services[dep], `${svc} depends on ${dep}`).toBeDefined();
      for (const v of (s.volumes ?? []) as string[]) {
        const [src] = v.split(':');
        if (src!.startsWith('.')) expect(existsSync(`${docker}${src}`), `${svc} mounts ${src}`).toBe(true);
        else expect(file.volumes?.[src!], `${svc} uses volume ${src}`).not.toBeUndefined();
      }
    }
    for (const [svc, s] of observers) {
      expect(s.volumes, svc).toContain(`../examples/topologies/${toml}:/config/fraiseql.toml:ro`);
      // Every environment variable the topology names is provided to the service.
      const text = readFileSync(`${docker}../examples/topologies/${toml}`, 'utf8');
      const config = parseConfig(text, { env: {} });
      const needed = new Set<string>([config.postgres?.urlEnv ?? ''].filter(Boolean));
      if (config.cache && 'urlEnv' in config.cache) needed.add(config.cache.urlEnv);
      if (config.observers?.nats?.serversEnv) needed.add(config.observers.nats.serversEnv);
      for (const o of config.observers?.observer ?? [])
        for (const a of o.actions)
          for (const [k, v] of Object.entries(a)) if (k.endsWith('Env')) needed.add(String(v));
      for (const variable of needed)
        expect(Object.keys(s.environment ?? {}), `${svc} gets ${variable}`).toContain(variable);
      if (name.startsWith('nats') || name.startsWith('multi'))
        expect(s.command.slice(-2)[0], svc).toBe('--role');
    }
  });
});
