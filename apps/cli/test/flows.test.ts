import { spawn } from 'node:child_process';
import { createMemoryCache } from '@fraiseql/cache-memory';
import { IntegrationService } from '@fraiseql/core';
import { type Connector, createFlowEngine, definePlugin, type FlowManager } from '@fraiseql/flows';
import { startServer } from '@fraiseql/server';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.ts';

/** The CLI operates the flows of a running server (the engine lives there). */
describe('flow / connector / plugin commands', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let flows: FlowManager;
  const delivered: unknown[] = [];
  const cli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args, '--url', server.url], {
        env: { ...process.env, FRAISEQL_API_TOKEN: 'tok' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  beforeAll(async () => {
    const sink: Connector = {
      name: 'sink',
      type: 'test',
      test: async () => ({ ok: true, latencyMs: 2 }),
      close: async () => undefined,
      deliver: async (m) => {
        delivered.push(m.body);
      },
    };
    const broken = definePlugin({
      name: 'broken',
      version: '1.0.0',
      manifest: {},
      hooks: {
        preStartup: () => {
          throw new Error('boom');
        },
      },
    });
    flows = await createFlowEngine({ connectors: [sink], plugins: [broken] });
    await flows.createFlow({
      name: 'orders',
      source: { type: 'http' },
      steps: [{ type: 'deliver', name: 'out', to: { connector: 'sink' } }],
    });
    const cache = await createMemoryCache({});
    const service = new IntegrationService({ cache });
    server = await startServer({
      integrations: { cache, service, flows, connectors: [sink] },
      registry: new Registry(),
      token: 'tok',
      port: 0,
    });
  });
  afterAll(async () => {
    await server?.close();
    await flows?.close();
  });

  it('flow list / start / status / stop / logs, connector list / test, plugin list / status', async () => {
    expect((await cli(['flow', 'list'])).stdout).toMatch(/NAME\s+STATE[\s\S]*orders\s+created/);
    expect((await cli(['flow', 'start', 'orders', '--format', 'json'])).stdout).toContain(
      '"state": "running"',
    );
    await fetch(`${server.url}/flows/orders/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    expect(delivered).toEqual([{ n: 1 }]);
    const status = await cli(['flow', 'status', 'orders', '--format', 'json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'orders', processed: 1 });
    expect((await cli(['flow', 'logs', 'orders', '--limit', '5'])).code).toBe(0);
    expect((await cli(['flow', 'stop', 'orders'])).stdout).toMatch(/state\s+stopped/);
    expect((await cli(['flow', 'status', 'nope'])).code).toBe(1);
    expect((await cli(['connector', 'list'])).stdout).toMatch(/sink\s+test/);
    expect((await cli(['connector', 'test', 'sink'])).code).toBe(0);
    expect((await cli(['plugin', 'list'])).stdout).toMatch(/broken\s+1\.0\.0\s+failed/);
    expect((await cli(['plugin', 'status', 'broken'])).code).toBe(1);
    expect((await cli(['plugin', 'status', 'nope'])).code).toBe(1);
  });
});
