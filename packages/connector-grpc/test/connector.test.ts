import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isTransient } from '@fraiseql/core';
import { expectIntegrationError } from '@fraiseql/testkit';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcConnector, type GrpcConnector, type GrpcStatusError } from '../src/index';
import { type InventoryServer, PROTO, startInventory } from './helpers';

let server: InventoryServer;
const opened: GrpcConnector[] = [];

async function connector(opts: Partial<Parameters<typeof createGrpcConnector>[0]> = {}) {
  const c = await createGrpcConnector({
    name: 'inv',
    protoFile: PROTO,
    service: 'inventory.Inventory',
    endpoint: server.endpoint,
    ...opts,
  });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  server = await startInventory();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  server.received.length = 0;
  server.items.clear();
});
afterAll(() => server.close());

describe('unary calls', () => {
  it('calls a method by name and resolves the reply as plain JSON', async () => {
    server.items.set('A1', {
      sku: 'A1',
      quantity: 7,
      version: '9007199254740993',
      status: 'IN_STOCK',
      reserved: false,
    });
    const c = await connector();
    expect(c.type).toBe('grpc');
    expect(c.methods).toEqual(['Get', 'Update', 'Slow', 'Fail']);
    const reply = await c.call('Get', { sku: 'A1', include_reserved: true });
    // int64 as a string (no precision lost), enum by name, every field present (defaults: true).
    expect(reply).toEqual({
      sku: 'A1',
      quantity: 7,
      version: '9007199254740993',
      status: 'IN_STOCK',
      reserved: true,
    });
    const updated = await c.call(
      'update',
      { sku: 'A1', delta: -2, order_id: 'o-1' },
      { metadata: { 'x-tenant': 't1' } },
    );
    expect(updated).toEqual({ sku: 'A1', quantity: 5 });
    expect(server.received[1]!.request).toMatchObject({ sku: 'A1', delta: -2, order_id: 'o-1' });
    expect(server.received[1]!.metadata['x-tenant']).toBe('t1');
  });

  it('request() maps the path to the method, with request fields in a query string', async () => {
    server.items.set('B 2', { sku: 'B 2', quantity: 3, version: '1', status: 'SOLD_OUT', reserved: false });
    const c = await connector();
    const res = await c.request({ method: 'GET', path: 'Get?sku=B%202&include_reserved=false' });
    expect(res).toEqual({
      status: 200,
      body: { sku: 'B 2', quantity: 3, version: '1', status: 'SOLD_OUT', reserved: false },
    });
    const full = await c.request({
      method: 'POST',
      path: '/inventory.Inventory/Update',
      body: { sku: 'B 2', delta: 4 },
    });
    expect(full.body).toEqual({ sku: 'B 2', quantity: 7 });
    // Query fields win over the body; numbers in a query string reach int32 fields as numbers.
    await c.request({
      method: 'POST',
      path: 'Update?delta=10&location.zone=3',
      body: { sku: 'B 2', delta: 1 },
    });
    expect(server.items.get('B 2')!.quantity).toBe(17);
    expect(server.received.at(-1)!.request).toMatchObject({
      delta: 10,
      location: { warehouse: '', zone: 3 },
    });
    await expectIntegrationError(
      () => c.request({ method: 'POST', path: '/other.Service/Update' }),
      ErrorCode.RouteNotFound,
    );
  });

  it('deliver() calls the RPC named by the destination path with the message body and id', async () => {
    const c = await connector();
    await c.deliver({ id: 'm-1', body: { sku: 'C3', delta: 2 } }, { connector: 'inv', path: 'Update' });
    // `method` names the RPC only when `path` is absent and it is not an HTTP verb.
    await c.deliver({ id: 'm-2', body: { sku: 'C3', delta: 3 } }, { connector: 'inv', method: 'Update' });
    expect(server.items.get('C3')!.quantity).toBe(5);
    expect(server.received.map((r) => r.metadata['x-message-id'])).toEqual(['m-1', 'm-2']);
    const err = await expectIntegrationError(
      () => c.deliver({ body: { sku: 'C3' } }, { connector: 'inv', method: 'POST' }),
      ErrorCode.UnsupportedOperation,
    );
    expect(err.message).toContain('needs a path naming the RPC (methods: Get, Update, Slow, Fail)');
  });

  it('an unknown method fails at call time listing the service methods; streaming ones are named as such', async () => {
    const c = await connector();
    const err = await expectIntegrationError(() => c.call('Delete', {}), ErrorCode.RouteNotFound);
    expect(err.message).toBe(
      '[connector-grpc inv] unknown method "Delete" of inventory.Inventory (methods: Get, Update, Slow, Fail)',
    );
    const viaRequest = await expectIntegrationError(
      () => c.request({ method: 'GET', path: 'GetCustomer' }),
      ErrorCode.RouteNotFound,
    );
    expect(viaRequest.message).toContain('methods: Get, Update, Slow, Fail');
    const stream = await expectIntegrationError(() => c.call('Watch', {}), ErrorCode.UnsupportedOperation);
    expect(stream.message).toContain('streaming method');
    expect(server.received).toHaveLength(0);
  });

  it('bad request messages are invalid input, never retried', async () => {
    const c = await connector();
    await expectIntegrationError(() => c.call('Get', ['A1']), ErrorCode.UnsupportedOperation);
    // A string for a message field: protobuf.js cannot encode it (grpc-js says INTERNAL; it is our input).
    const err = await expectIntegrationError(
      () => c.call('Update', { sku: 'x', location: 'north' }),
      ErrorCode.UnsupportedOperation,
    );
    expect(err.message).toContain('location: object expected');
    expect(err.kind).toBe('invalid_input');
    expect(isTransient(err.code)).toBe(false);
    await expectIntegrationError(
      () => c.call('Get', {}, { metadata: { 'Bad Key!': 'v' } }),
      ErrorCode.UnsupportedOperation,
    );
  });
});

describe('deadlines and status codes', () => {
  it('a slow handler ends in DEADLINE_EXCEEDED at the call deadline: IN500, retryable', async () => {
    const c = await connector({ deadlineMs: 150 });
    const err = (await expectIntegrationError(
      () => c.call('Slow', { sku: 'S' }),
      ErrorCode.ConnectionTimeout,
    )) as GrpcStatusError;
    expect(err.grpcStatus).toBe('DEADLINE_EXCEEDED');
    expect(err.grpcCode).toBe(status.DEADLINE_EXCEEDED);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^\[connector-grpc inv\] Slow failed: DEADLINE_EXCEEDED \(4\)/);
    // A per-call deadline overrides the connector's.
    server.slowMs = 50;
    try {
      await expect(c.call('Slow', { sku: 'S' }, { deadlineMs: 5_000 })).resolves.toMatchObject({ sku: 'S' });
    } finally {
      server.slowMs = 2_000;
    }
  });

  it.each([
    ['UNAVAILABLE', status.UNAVAILABLE, ErrorCode.ProviderUnavailable, true],
    ['RESOURCE_EXHAUSTED', status.RESOURCE_EXHAUSTED, ErrorCode.ProviderUnavailable, true],
    ['INVALID_ARGUMENT', status.INVALID_ARGUMENT, ErrorCode.UnsupportedOperation, false],
    ['NOT_FOUND', status.NOT_FOUND, ErrorCode.DocumentNotFound, false],
    ['PERMISSION_DENIED', status.PERMISSION_DENIED, ErrorCode.Forbidden, false],
    ['UNAUTHENTICATED', status.UNAUTHENTICATED, ErrorCode.Unauthorized, false],
    ['UNIMPLEMENTED', status.UNIMPLEMENTED, ErrorCode.RouteNotFound, false],
    ['INTERNAL', status.INTERNAL, ErrorCode.ProviderUnavailable, true],
  ] as const)(
    '%s → %s with the status name and details in the message',
    async (name, code, ours, retryable) => {
      const c = await connector();
      const err = (await expectIntegrationError(
        () => c.call('Fail', { code, details: `boom ${name}` }),
        ours,
      )) as GrpcStatusError;
      expect(err.message).toBe(`[connector-grpc inv] Fail failed: ${name} (${code}): boom ${name}`);
      expect(err.details).toBe(`boom ${name}`);
      expect(err.provider).toBe('connector-grpc');
      expect(isTransient(err.code)).toBe(retryable);
      expect(err.permanent).toBe(!retryable);
    },
  );

  it('a server that is not there: IN501 connection refused; test() reports not ready', async () => {
    const other = await startInventory();
    const endpoint = other.endpoint;
    await other.close();
    const c = await connector({ endpoint, deadlineMs: 300 });
    const err = await expectIntegrationError(
      () => c.call('Get', { sku: 'x' }),
      [ErrorCode.ConnectionRefused, ErrorCode.ProviderUnavailable, ErrorCode.ConnectionTimeout],
    );
    expect(isTransient(err.code)).toBe(true);
    const t = await c.test();
    expect(t.ok).toBe(false);
    expect(t.detail).toContain(`${endpoint} not ready within 300 ms`);
    expect(t.detail).toContain('ECONNREFUSED');
  });
});

describe('lifecycle and configuration', () => {
  it('test() waits for the channel; close() is idempotent and later calls fail with IN502', async () => {
    const c = await connector();
    const t = await c.test();
    expect(t).toMatchObject({ ok: true, detail: `${server.endpoint} ready` });
    expect(t.latencyMs).toBeGreaterThanOrEqual(0);
    await c.close();
    await c.close();
    const err = await expectIntegrationError(
      () => c.call('Get', { sku: 'x' }),
      ErrorCode.ProviderUnavailable,
    );
    expect(err.message).toContain('connector is closed');
    expect((await c.test()).ok).toBe(false);
  });

  it('a missing proto file, an unknown service or bad options are IN002 at creation', async () => {
    const base = { name: 'x', protoFile: PROTO, service: 'inventory.Inventory', endpoint: '127.0.0.1:1' };
    const missing = await expectIntegrationError(
      () => createGrpcConnector({ ...base, protoFile: '/nonexistent/x.proto' }),
      ErrorCode.InvalidConfiguration,
      { allowSyncThrow: true },
    );
    expect(missing.message).toContain('protoFile "/nonexistent/x.proto" does not exist');
    const svc = await expectIntegrationError(
      () => createGrpcConnector({ ...base, service: 'Inventory' }),
      ErrorCode.InvalidConfiguration,
    );
    expect(svc.message).toContain('service "Inventory" is not defined');
    expect(svc.message).toContain('services: inventory.Inventory');
    const dir = mkdtempSync(join(tmpdir(), 'fraiseql-grpc-proto-'));
    try {
      const broken = join(dir, 'broken.proto');
      writeFileSync(broken, 'syntax = "proto3";\nservice X { rpc A(');
      const parse = await expectIntegrationError(
        () => createGrpcConnector({ ...base, protoFile: broken }),
        ErrorCode.InvalidConfiguration,
      );
      expect(parse.message).toContain(`cannot load ${broken}:`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of [
      { ...base, name: '' },
      { ...base, endpoint: undefined },
      { ...base, deadlineMs: 0 },
      { ...base, tls: { caCert: '/nonexistent/ca.pem' } },
      { ...base, tls: { clientCert: '-----BEGIN CERTIFICATE-----\n' } },
      { ...base, tls: { ca: 'x' } },
    ])
      await expectIntegrationError(() => createGrpcConnector(bad as never), ErrorCode.InvalidConfiguration);
  });
});
