import { createMemoryCache } from '@fraiseql/cache-memory';
import { parseConfig } from '@fraiseql/core';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { expectIntegrationError } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observersFromConfig } from '../src/index';
import { executed, type Receiver, startReceiver } from './helpers';

const toml = `
[cache]
backend = "memory"
[observers]
poll_interval_ms = 50
dedup = { enabled = true, window_seconds = 300 }
[[observers.observer]]
name = "order-created"
entity = "Order"
events = ["INSERT"]
condition = "status == 'new'"
actions = [ { type = "webhook", url_env = "ORDER_HOOK_URL", secret_env = "ORDER_HOOK_SECRET" } ]
`;

describe('observersFromConfig', () => {
  let sql: SqlClient;
  let receiver: Receiver;
  beforeAll(async () => {
    sql = await createSqlClient({});
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await sql?.close();
  });

  it('lists every unset *_env variable in one IN003, without values', async () => {
    const config = parseConfig(toml, { env: {} });
    const cache = await createMemoryCache({});
    const err = await expectIntegrationError(
      () =>
        observersFromConfig(config.observers!, {
          sql,
          providers: { cache },
          env: { ORDER_HOOK_SECRET: 'topsecret' },
        }),
      'IN003',
    );
    expect(err.message).toContain(
      'observers.observer[0].actions[0].url_env: environment variable ORDER_HOOK_URL is not set',
    );
    expect(err.message).not.toContain('topsecret');
  });

  it('runs the configured observer: a row insert becomes a signed webhook, a duplicate is skipped', async () => {
    const config = parseConfig(toml, { env: {} });
    const cache = await createMemoryCache({});
    const runtime = await observersFromConfig(config.observers!, {
      sql,
      providers: { cache },
      env: { ORDER_HOOK_URL: `${receiver.url}/hook`, ORDER_HOOK_SECRET: 's' },
    });
    await runtime.start();
    const done = executed(runtime, 3);
    for (const status of ['new', 'new', 'paid'])
      await sql.query(
        `INSERT INTO tb_entity_change_log (object_type, object_id, modification_type, object_data) VALUES ('Order', 'o1', 'INSERT', $1::jsonb)`,
        [JSON.stringify({ status })],
      );
    const summaries = await done;
    await runtime.stop();
    expect(summaries.map((s) => [s.observers.length, s.duplicateSkipped])).toEqual([
      [1, false],
      [0, true],
      [0, false],
    ]);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.headers['x-fraiseql-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});
