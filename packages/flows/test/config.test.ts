import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flowsFromConfig, loadFlowsFile, startFlowsFromConfig } from '../src/index';
import { rejects } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'flows-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
file('order.json', JSON.stringify({ type: 'object', required: ['id'] }));

const YAML = `
flows:
  order-sync:
    source: { type: queue, name: orders, batch_size: 4 }
    steps:
      - name: transform-order
        type: transform
        config: { template: order-template }
      - name: validate-order
        type: validate
        config: { schema: order-schema }
      - name: route-order
        type: route
        config:
          routes:
            - { condition: total >= 1000, destination: high-value-orders }
            - { condition: total < 1000, destination: regular-orders }
    error_handling:
      retry: { max_attempts: 3, backoff: { type: exponential, initial_ms: 1000, max_ms: 60000, multiplier: 2 } }
      dlq: failed-orders
connectors:
  rest-api:
    type: http
    base_url: https://api.example.com
    auth: { type: bearer, token_env: API_TOKEN }
  inventory:
    type: grpc
    proto_file: protos/inventory.proto
    service: inventory.Inventory
    endpoint: 127.0.0.1:50051
    tls: { ca_cert: certs/ca.crt, client_cert: /etc/certs/client.crt, client_key: certs/client.key }
  database:
    type: postgres
    url_env: DATABASE_URL
    pool: { min_connections: 5, max_connections: 20 }
plugins:
  upper: { module: ./upper.mjs, prefix: "x-" }
templates:
  order-template: { id: $.orderId, customer: { customer_id: $.customerId }, total: $.orderTotal }
schemas:
  order-schema: { path: order.json }
`;

const TOML = `
[flows.order-sync]
source = { type = "queue", queue = "orders", concurrency = 4 }
error_handling = { dlq = "failed-orders", retry = { max_attempts = 3, backoff = { type = "exponential", initial_ms = 1000, max_ms = 60000, multiplier = 2 } } }

[[flows.order-sync.steps]]
type = "transform"
name = "transform-order"
mapping = { id = "$.orderId", customer = { customer_id = "$.customerId" }, total = "$.orderTotal" }

[[flows.order-sync.steps]]
type = "validate"
name = "validate-order"
schema = { type = "object", required = ["id"] }

[[flows.order-sync.steps]]
type = "route"
name = "route-order"
routes = [
  { when = "total >= 1000", to = { queue = "high-value-orders" } },
  { when = "total < 1000", to = { queue = "regular-orders" } },
]
`;

const env = { API_TOKEN: 't0ken-value', DATABASE_URL: 'postgres://u:p@db/x' };

describe('flows from config', () => {
  it("reads the seed's YAML shape and our TOML into the same flow definition", async () => {
    const yaml = await loadFlowsFile(file('flows.yaml', YAML));
    const toml = await loadFlowsFile(file('flows.toml', TOML));
    const fromYaml = flowsFromConfig(yaml.sections, { baseDir: yaml.baseDir, env });
    const fromToml = flowsFromConfig(toml.sections, { baseDir: toml.baseDir, env });
    expect(fromYaml.flows).toEqual(fromToml.flows);
    expect(fromYaml.flows[0]).toMatchObject({
      name: 'order-sync',
      source: { type: 'queue', queue: 'orders', concurrency: 4 },
      errorHandling: {
        dlq: 'failed-orders',
        retry: {
          maxAttempts: 3,
          backoff: { type: 'exponential', initialMs: 1000, maxMs: 60000, multiplier: 2 },
        },
      },
    });
    // Mapping keys and schema keywords are data: never camelCased.
    expect(fromYaml.flows[0]?.steps[0]).toEqual({
      type: 'transform',
      name: 'transform-order',
      mapping: { id: '$.orderId', customer: { customer_id: '$.customerId' }, total: '$.orderTotal' },
    });
    expect(fromYaml.connectors).toEqual([
      {
        name: 'rest-api',
        type: 'http',
        options: {
          name: 'rest-api',
          baseUrl: 'https://api.example.com',
          auth: { type: 'bearer', token: 't0ken-value' },
        },
      },
      {
        name: 'inventory',
        type: 'grpc',
        options: {
          name: 'inventory',
          protoFile: join(dir, 'protos/inventory.proto'),
          service: 'inventory.Inventory',
          endpoint: '127.0.0.1:50051',
          tls: {
            caCert: join(dir, 'certs/ca.crt'),
            clientCert: '/etc/certs/client.crt',
            clientKey: join(dir, 'certs/client.key'),
          },
        },
      },
      {
        name: 'database',
        type: 'postgres',
        options: { name: 'database', url: 'postgres://u:p@db/x', pool: { min: 5, max: 20 } },
      },
    ]);
    expect(fromYaml.plugins).toEqual([
      { name: 'upper', module: join(dir, 'upper.mjs'), options: { prefix: 'x-' } },
    ]);
  });

  it('lists every problem in one IN002, and never echoes a secret', () => {
    const sections = {
      flows: {
        'bad name!': { source: { type: 'http' }, steps: [] },
        a: {
          source: { type: 'http' },
          stepz: [],
          steps: [{ type: 'transform', name: 't', template: 'nope' }],
        },
      },
      connectors: {
        api: { type: 'http', base_url: 'https://x', auth: { type: 'bearer', token: 'hunter2-secret' } },
        db: { type: 'postgres', url_env: 'NOT_SET_ANYWHERE' },
        leaky: { type: 'postgres', url: 'postgres://user:pw-secret@host/db' },
        untyped: { base_url: 'https://x' },
      },
      plugins: { p: { prefix: 'x' } },
    };
    let err: unknown;
    try {
      flowsFromConfig(sections, { env: {} });
    } catch (e) {
      err = e;
    }
    const e = err as { code: string; message: string; issues: { path: string }[] };
    expect(e.code).toBe('IN002');
    expect(e.issues.map((i) => i.path)).toEqual([
      'flows.bad name!',
      'flows.a.stepz',
      'flows.a.steps[0].template',
      'connectors.api.auth.token',
      'connectors.db.url_env',
      'connectors.leaky.url',
      'connectors.untyped.type',
      'plugins.p.module',
    ]);
    expect(e.message).toMatch(/8 problems/);
    expect(e.message).toMatch(/environment variable NOT_SET_ANYWHERE is not set/);
    expect(e.message).not.toMatch(/hunter2|pw-secret/);
  });

  it('runs a flow from config with a plugin module and reports bad flows of every kind at once', async () => {
    const plugin = fileURLToPath(new URL('./fixtures/upper-plugin.mjs', import.meta.url));
    const runtime = await startFlowsFromConfig({
      sections: {
        flows: {
          shout: { source: { type: 'http' }, steps: [{ type: 'uppercase', name: 'up', field: 'text' }] },
        },
        plugins: { upper: { module: plugin, prefix: '>' } },
      },
    });
    try {
      expect(runtime.engine.getFlowStatus('shout').state).toBe('running');
      await runtime.engine.post('shout', { text: 'hello' });
      expect(runtime.engine.getFlowStatus('shout').processed).toBe(1);
      expect(runtime.engine.plugins.listPlugins()).toEqual([
        { name: 'upper', version: '1.0.0', state: 'active' },
      ]);
    } finally {
      await runtime.close();
    }

    await rejects(
      startFlowsFromConfig({
        sections: {
          flows: {
            one: { source: { type: 'http' }, steps: [{ type: 'teleport', name: 'x' }] },
            two: {
              source: { type: 'http' },
              steps: [
                { type: 'transform', name: 't', mapping: { a: '$.[[' } },
                { type: 'deliver', name: 'd', to: { connector: 'nowhere' } },
              ],
            },
          },
        },
      }),
      'IN002',
      /2 problems[\s\S]*flows\.one:.*teleport[\s\S]*flows\.two:.*\$\.\[\[[\s\S]*nowhere/,
    );
    await rejects(
      startFlowsFromConfig({ sections: { connectors: { q: { type: 'carrier-pigeon' } } } }),
      'IN004',
      /pnpm add @fraiseql\/connector-carrier-pigeon/,
    );
    await rejects(
      startFlowsFromConfig({ sections: { plugins: { gone: { module: '/nonexistent/plugin.mjs' } } } }),
      'IN004',
      /Plugin load failed: gone/,
    );
  });

  it('refuses a flows file with syntax errors or unknown top-level keys, naming the line', async () => {
    await rejects(loadFlowsFile(file('bad.yaml', 'flows:\n  a: [\n')), 'IN002', /syntax error/);
    await rejects(loadFlowsFile(file('extra.yaml', 'flowz: {}\n')), 'IN002', /flowz: unknown key/);
    await rejects(loadFlowsFile(join(dir, 'missing.yaml')), 'IN001', /cannot read the flows file/);
  });
});
