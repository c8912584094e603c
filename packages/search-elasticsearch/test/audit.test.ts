import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Filter, type SearchProvider, withResilience } from '@fraiseql/core';
import { createObserverRuntime, ensureChangeLog, type ObserverRuntime } from '@fraiseql/observers';
import { createSqlClient, type SqlClient } from '@fraiseql/postgres';
import { checkService, type FakeElasticsearch, startFakeElasticsearch, uniqueName } from '@fraiseql/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_MAPPINGS,
  auditIndexFor,
  createElasticsearchSearch,
  type ElasticsearchSearch,
} from '../src/index.ts';

/**
 * The observers' audit trail on Elasticsearch (seed 001 §8.5), end to end: change-log rows in real
 * Postgres → observer runtime → `audit` action → daily `fraiseql_events-YYYY.MM.DD` indices made
 * from the seed's template → the seed's two example queries, as portable filters.
 */
const pg = await checkService('postgres');
const DAY = 86_400_000;

let fake: FakeElasticsearch;
let es: ElasticsearchSearch;
let sql: SqlClient;
let receiver: Server;
let receiverUrl = '';
const schema = uniqueName('esaudit');

beforeAll(async () => {
  fake = await startFakeElasticsearch();
  es = await createElasticsearchSearch({ node: fake.url, apiKey: fake.apiKey });
  sql = await createSqlClient({ url: pg.url });
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url?.startsWith('/fail') ? 500 : 200).end('ok'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sql?.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await sql?.close();
  await es?.close();
  await fake?.close();
  receiver?.closeAllConnections();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

async function runObservers(
  search: SearchProvider = es,
  log = 'tb_entity_change_log',
): Promise<ObserverRuntime> {
  const changeLog = `${schema}.${log}`;
  await ensureChangeLog(sql, { table: changeLog });
  return createObserverRuntime({
    sql,
    schema,
    changeLog,
    group: uniqueName('g'),
    pollIntervalMs: 100,
    providers: { search },
    observers: [
      {
        name: 'order-sync',
        entity: 'Order',
        actions: [{ type: 'webhook', url: `${receiverUrl}/ok` }, { type: 'audit' }],
      },
      {
        name: 'order-billing',
        entity: 'Order',
        retry: { maxAttempts: 1 },
        actions: [{ type: 'webhook', url: `${receiverUrl}/fail` }, { type: 'audit' }],
      },
      { name: 'user-audit', entity: 'User', actions: [{ type: 'audit' }] },
    ],
  });
}

async function insert(
  entity: string,
  id: string,
  kind: string,
  data: unknown,
  log = 'tb_entity_change_log',
): Promise<void> {
  await sql.query(
    `INSERT INTO "${schema}".${log} (object_type, object_id, modification_type, object_data) VALUES ($1, $2, $3, $4::jsonb)`,
    [entity, id, kind, JSON.stringify(data)],
  );
}

describe('audit trail', () => {
  it('observers write audit records into daily indices answered by the seed queries', async () => {
    // A record from three days ago (another daily index), outside "the last 24 hours".
    const old = new Date(Date.now() - 3 * DAY);
    const oldWrite = await es.writeAudit('fraiseql_events', [
      {
        index: 'fraiseql_events',
        id: 'old:order-sync:0',
        data: {
          event_id: 'old',
          entity_type: 'Order',
          entity_id: 'o-0',
          event_kind: 'INSERT',
          timestamp: old.toISOString(),
          observer_id: 'order-sync',
          action_type: 'webhook',
          status: 'failed',
          error: 'HTTP 503 from the old endpoint',
          data: { total: 1 },
        },
      },
    ]);
    expect(oldWrite).toEqual({ succeeded: 1, failed: [] });

    const runtime = await runObservers();
    const done: string[] = [];
    runtime.on('executed', (s) => done.push(s.eventId));
    try {
      await insert('Order', 'o-1', 'INSERT', { total: 42, nested: { any: ['shape'] } });
      await insert('User', 'u-1', 'INSERT', { name: 'Ada' });
      await runtime.start();
      const end = Date.now() + 20_000;
      while (done.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(done).toHaveLength(2);
    } finally {
      await runtime.stop();
    }

    // The seed's template, mappings exactly, and a delete-after lifecycle policy.
    const { index_templates } = await es.client.indices.getIndexTemplate({ name: 'fraiseql_events' });
    const t = index_templates[0]!.index_template;
    expect(t.index_patterns).toEqual(['fraiseql_events-*']);
    expect(t.template?.mappings).toEqual(AUDIT_MAPPINGS);
    expect(t.template?.settings).toMatchObject({
      number_of_shards: 1,
      number_of_replicas: 0,
      'index.lifecycle.name': 'fraiseql_events_policy',
    });
    const policies = await es.client.ilm.getLifecycle({ name: 'fraiseql_events_policy' });
    expect(policies.fraiseql_events_policy!.policy.phases.delete).toEqual({
      min_age: '30d',
      actions: { delete: {} },
    });

    // One index per day, each behind the alias.
    const today = auditIndexFor('fraiseql_events', new Date());
    expect(today).toMatch(/^fraiseql_events-\d{4}\.\d{2}\.\d{2}$/);
    expect(fake.indexNames()).toEqual(expect.arrayContaining([today, auditIndexFor('fraiseql_events', old)]));
    const aliases = await es.client.indices.getAlias({ name: 'fraiseql_events' });
    expect(Object.keys(aliases).sort()).toEqual([auditIndexFor('fraiseql_events', old), today].sort());
    const mapping = (await es.client.indices.getMapping({ index: today })) as Record<
      string,
      { mappings: unknown }
    >;
    expect(mapping[today]!.mappings).toMatchObject(AUDIT_MAPPINGS);

    // Seed query 1: Order events of the last 24 hours.
    const lastDay: Filter = {
      and: [
        { field: 'entity_type', op: 'eq', value: 'Order' },
        { field: 'timestamp', op: 'gte', value: new Date(Date.now() - DAY) },
      ],
    };
    const orders = await es.search({
      index: 'fraiseql_events',
      query: '',
      filter: lastDay,
      sort: ['observer_id:asc'],
      limit: 100,
    });
    expect(orders.totalHits).toBe(2);
    expect(
      orders.hits.map((h) => [h.document.observer_id, h.document.action_type, h.document.status]),
    ).toEqual([
      ['order-billing', 'webhook', 'failed'],
      ['order-sync', 'webhook', 'succeeded'],
    ]);
    expect(orders.hits[1]!.document).toMatchObject({
      entity_id: 'o-1',
      event_kind: 'INSERT',
      data: { total: 42, nested: { any: ['shape'] } },
    });
    // The same query over every day finds the old record as well.
    const allOrders = await es.search({
      index: 'fraiseql_events',
      query: '',
      filter: { field: 'entity_type', op: 'eq', value: 'Order' },
    });
    expect(allOrders.totalHits).toBe(3);

    // Seed query 2: failed webhook actions.
    const failedWebhooks: Filter = {
      and: [
        { field: 'action_type', op: 'eq', value: 'webhook' },
        { field: 'status', op: 'eq', value: 'failed' },
      ],
    };
    const failed = await es.search({
      index: 'fraiseql_events',
      query: '',
      filter: failedWebhooks,
      sort: ['timestamp:desc'],
      facets: ['observer_id'],
    });
    expect(failed.hits.map((h) => h.document.event_id)).toEqual([expect.not.stringMatching(/^old$/), 'old']);
    expect(failed.hits[0]!.document.error).toMatch(/500/);
    expect(failed.facets?.observer_id).toEqual([
      { value: 'order-billing', count: 1 },
      { value: 'order-sync', count: 1 },
    ]);

    // The error text is searchable (a text field) and highlighted.
    const words = await es.search({ index: 'fraiseql_events', query: 'endpoint', highlight: ['error'] });
    expect(words.hits.map((h) => h.document.event_id)).toEqual(['old']);
    expect(words.hits[0]!.highlights?.error).toBe('HTTP 503 from the old <mark>endpoint</mark>');

    // The audit action of an observer without siblings records itself.
    const users = await es.search({
      index: 'fraiseql_events',
      query: '',
      filter: { field: 'entity_type', op: 'eq', value: 'User' },
    });
    expect(
      users.hits.map((h) => [h.document.observer_id, h.document.action_type, h.document.status]),
    ).toEqual([['user-audit', 'audit', 'succeeded']]);

    // Filtering on a field the audit mapping does not make filterable is IN101.
    await expect(
      es.search({ index: 'fraiseql_events', query: '', filter: { field: 'error', op: 'eq', value: 'x' } }),
    ).rejects.toMatchObject({ code: 'IN101' });
  });

  it('the hook is found through the resilience wrapper createIntegrations puts around providers', async () => {
    const wrapped = withResilience('search', es);
    const runtime = await runObservers(wrapped, 'log_wrapped');
    const done: string[] = [];
    runtime.on('executed', (s) => done.push(s.eventId));
    try {
      await insert('User', 'u-wrapped', 'UPDATE', { name: 'Grace' }, 'log_wrapped');
      await runtime.start();
      const end = Date.now() + 20_000;
      while (done.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(done).toHaveLength(1);
    } finally {
      await runtime.stop();
    }
    const r = await es.search({
      index: 'fraiseql_events',
      query: '',
      filter: { field: 'entity_id', op: 'eq', value: 'u-wrapped' },
    });
    expect(r.hits.map((h) => h.document.event_kind)).toEqual(['UPDATE']);
    // Written into today's daily index, not into an index named "fraiseql_events".
    expect(fake.indexNames()).not.toContain('fraiseql_events');
  });

  it('ensureAuditTemplate takes a pattern and a retention', async () => {
    const res = await es.ensureAuditTemplate({ pattern: 'shop_audit-*', retentionDays: 7 });
    expect(res).toEqual({
      template: 'shop_audit',
      policy: 'shop_audit_policy',
      alias: 'shop_audit',
      pattern: 'shop_audit-*',
    });
    const policies = await es.client.ilm.getLifecycle({ name: 'shop_audit_policy' });
    expect(policies.shop_audit_policy!.policy.phases.delete!.min_age).toBe('7d');
    await expect(es.ensureAuditTemplate({ pattern: 'Bad Pattern' })).rejects.toMatchObject({ code: 'IN002' });
    await expect(es.ensureAuditTemplate({ retentionDays: 0 })).rejects.toMatchObject({ code: 'IN002' });
  });
});
