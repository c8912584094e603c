import { describe, expect, it } from 'vitest';
import { type Connector, createFlowEngine, createPluginManager, definePlugin } from '../src/index';
import { rejects } from './helpers';

function memoryConnector(name: string): Connector & { rows: unknown[] } {
  const rows: unknown[] = [];
  return {
    name,
    type: 'memory',
    rows,
    test: async () => ({ ok: true, latencyMs: 0 }),
    close: async () => undefined,
    insert: async (_table, row) => void rows.push(row),
  };
}

describe('plugins', () => {
  it('a plugin contributes a step and a connector a flow uses; hooks run on register and close', async () => {
    const events: string[] = [];
    const store = memoryConnector('store');
    const upper = definePlugin({
      name: 'text-tools',
      version: '1.2.0',
      manifest: { description: 'upper-cases a field', license: 'MIT' },
      connectors: [store],
      steps: {
        uppercase: async (message, step) => {
          const body = { ...(message.body as Record<string, unknown>) };
          const field = step.field as string;
          body[field] = String(body[field]).toUpperCase();
          return { ...message, body };
        },
      },
      hooks: {
        preStartup: () => void events.push('pre'),
        postShutdown: () => void events.push('post'),
      },
    });
    const engine = await createFlowEngine({ plugins: [upper] });
    expect(events).toEqual(['pre']);
    expect(engine.plugins.listPlugins()).toEqual([{ name: 'text-tools', version: '1.2.0', state: 'active' }]);
    await engine.createFlow({
      name: 'shout',
      source: { type: 'http' },
      steps: [
        { type: 'uppercase', name: 'up', field: 'msg' },
        { type: 'deliver', name: 'save', to: { connector: 'store', table: 'messages' } },
      ],
    });
    await engine.startFlow('shout');
    await engine.post('shout', { msg: 'hello' });
    expect(store.rows).toEqual([{ msg: 'HELLO' }]);
    await engine.close();
    expect(events).toEqual(['pre', 'post']);
  });

  it('checks manifest dependencies with semver: missing → IN004 "Plugin load failed: missing dependency X"', async () => {
    const pm = createPluginManager();
    const aws = definePlugin({
      name: 'aws-integration',
      version: '1.0.0',
      manifest: { dependencies: [{ name: 'aws-sdk', version: '^0.8.0' }] },
    });
    await rejects(pm.registerPlugin(aws), 'IN004', /Plugin load failed: missing dependency aws-sdk/);
    await pm.registerPlugin(definePlugin({ name: 'aws-sdk', version: '0.7.9', manifest: {} }));
    await rejects(pm.registerPlugin(aws), 'IN004', /missing dependency aws-sdk.*found 0\.7\.9/);
    await pm.unregisterPlugin('aws-sdk');
    await pm.registerPlugin(definePlugin({ name: 'aws-sdk', version: '0.8.3', manifest: {} }));
    expect(await pm.registerPlugin(aws)).toMatchObject({ name: 'aws-integration', state: 'active' });
    expect(pm.getPlugin('aws-integration')?.plugin).toBe(aws);
    expect(pm.listPlugins().map((p) => p.name)).toEqual(['aws-sdk', 'aws-integration']);
  });

  it('a throwing hook marks only that plugin failed; its steps are not offered', async () => {
    const pm = createPluginManager();
    await pm.registerPlugin(
      definePlugin({
        name: 'broken',
        version: '1.0.0',
        manifest: {},
        steps: { nope: async (m) => m },
        hooks: {
          preStartup: () => {
            throw new Error('cannot reach token=abc123secret');
          },
        },
      }),
    );
    await pm.registerPlugin(
      definePlugin({ name: 'fine', version: '2.0.0', manifest: {}, steps: { ok: async (m) => m } }),
    );
    const list = pm.listPlugins();
    expect(list.find((p) => p.name === 'broken')).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/preStartup/),
    });
    expect(list.find((p) => p.name === 'broken')?.error).not.toContain('abc123secret');
    expect(list.find((p) => p.name === 'fine')).toMatchObject({ state: 'active' });
    expect([...pm.steps().keys()]).toEqual(['ok']);
    // A dependency on a failed plugin is missing.
    await rejects(
      pm.registerPlugin(
        definePlugin({
          name: 'x',
          version: '1.0.0',
          manifest: { dependencies: [{ name: 'broken', version: '*' }] },
        }),
      ),
      'IN004',
      /missing dependency broken/,
    );
    const engine = await createFlowEngine({ plugins: pm });
    await rejects(
      engine.createFlow({ name: 'f', source: { type: 'http' }, steps: [{ type: 'nope', name: 'n' }] }),
      'IN002',
      /unknown step type "nope"/,
    );
    await engine.close();
    expect(pm.listPlugins()).toEqual([]);
  });

  it('definePlugin rejects a bad shape', () => {
    expect(() => definePlugin({ name: 'bad name!', version: 'one', manifest: {} })).toThrow(
      /IN002|2 problem/,
    );
  });
});
