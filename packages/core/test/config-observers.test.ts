import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/index';

const base = `
[cache]
backend = "memory"
[queues]
backend = "postgresql"
[search]
provider = "postgresql"
`;

const observers = `
[observers]
group = "default"
listener_id = "listener-1"
change_log = "tb_entity_change_log"
batch_size = 100
poll_interval_ms = 1000
max_parallelism = 100
action_timeout_ms = 30000
failover = { health_check_interval_ms = 5000, failover_threshold_ms = 60000 }
dedup = { enabled = true, window_seconds = 300 }
action_cache = { enabled = false, ttl_seconds = 60 }
transport = "postgres"

[[observers.observer]]
name = "order-created"
entity = "Order"
events = ["INSERT"]
condition = "status == 'new'"
actions = [ { type = "webhook", url_env = "ORDER_HOOK_URL", secret_env = "ORDER_HOOK_SECRET", timeout_ms = 5000 },
            { type = "search.index", index = "orders" } ]
`;

function issues(text: string, env: Record<string, string> = {}): string {
  try {
    parseConfig(text, { env });
  } catch (err) {
    return `${(err as { code: string }).code} ${(err as Error).message}`;
  }
  return 'ok';
}

describe('[observers] config', () => {
  it("parses DESIGN §8.5's example, seconds into milliseconds, action keys camelCased", () => {
    const config = parseConfig(base + observers, { env: {} });
    expect(config.observers).toMatchObject({
      group: 'default',
      listenerId: 'listener-1',
      maxParallelism: 100,
      failover: { healthCheckIntervalMs: 5000, failoverThresholdMs: 60000 },
      dedup: { enabled: true, windowMs: 300_000 },
      actionCache: { enabled: false, ttlMs: 60_000 },
      observer: [
        {
          name: 'order-created',
          events: ['INSERT'],
          condition: "status == 'new'",
          actions: [
            { type: 'webhook', urlEnv: 'ORDER_HOOK_URL', secretEnv: 'ORDER_HOOK_SECRET', timeoutMs: 5000 },
            { type: 'search.index', index: 'orders' },
          ],
        },
      ],
    });
  });

  it('FRAISEQL_<SECTION>_<KEY> overrides a value, and a bad override is IN002', () => {
    expect(
      parseConfig(base + observers, { env: { FRAISEQL_OBSERVERS_MAX_PARALLELISM: '8' } }).observers
        ?.maxParallelism,
    ).toBe(8);
    expect(
      parseConfig(base + observers, { env: { FRAISEQL_OBSERVERS_GROUP: 'blue' } }).observers?.group,
    ).toBe('blue');
    expect(issues(base + observers, { FRAISEQL_OBSERVERS_MAX_PARALLELISM: '-1' })).toMatch(
      /IN002[\s\S]*observers\.max_parallelism/,
    );
    const nats = `${base}${observers}\n[observers.nats]\nservers_env = "NATS_URL"\nstream = "A"\n`;
    const env = {
      FRAISEQL_OBSERVERS_NATS_STREAM: 'B',
      FRAISEQL_OBSERVERS_FAILOVER_FAILOVER_THRESHOLD_MS: '1000',
    };
    expect(parseConfig(nats, { env }).observers).toMatchObject({
      nats: { stream: 'B' },
      failover: { failoverThresholdMs: 1000 },
    });
  });

  it('cross-checks the sections observers need (IN002 listing each)', () => {
    const msg = issues(observers);
    expect(msg).toMatch(/^IN002/);
    expect(msg).toContain('observers.dedup');
    expect(msg).toContain('observers.observer[0].actions[1]');
    expect(msg).toContain('needs a [search] section');
    expect(issues(`${base}\n[observers]\ntransport = "nats"\n`)).toContain(
      'needs an [observers.nats] section',
    );
    expect(
      issues(
        `[observers]\n[[observers.observer]]\nname = "q"\nentity = "X"\nactions = [{ type = "enqueue", queue = "q" }]\n`,
      ),
    ).toContain('an enqueue action needs a [queues] section');
  });

  it('refuses bad conditions, literal secrets, bad names and unknown keys', () => {
    const bad = `${base}
[observers]
max_paralelism = 3
[[observers.observer]]
name = "bad name"
entity = "Order"
condition = "total >"
actions = [ { type = "webhook", url_env = "X", secret = "plain" } ]
[[observers.observer]]
name = "ok"
entity = "Order"
condition = { field = "a", op = "like", value = 1 }
actions = []
`;
    const msg = issues(bad);
    expect(msg).toMatch(/^IN002/);
    for (const part of [
      'did you mean "max_parallelism"',
      'observer name',
      'Invalid condition "total >"',
      'secrets are never stored',
      'observers.observer[1].condition',
      'observers.observer[1].actions',
    ])
      expect(msg).toContain(part);
  });
});
