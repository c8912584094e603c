import { ErrorCode, isTransient } from '@fraiseql/core';
import { expectIntegrationError } from '@fraiseql/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcConnector, type GrpcConnector, type GrpcTlsOptions } from '../src/index';
import { type InventoryServer, makePki, type Pki, PROTO, serverTls, startInventory } from './helpers';

let pki: Pki;
let tlsServer: InventoryServer;
let mtlsServer: InventoryServer;
const opened: GrpcConnector[] = [];

async function connector(endpoint: string, tls: GrpcTlsOptions, deadlineMs = 2_000) {
  const c = await createGrpcConnector({
    name: 'secure',
    protoFile: PROTO,
    service: 'inventory.Inventory',
    endpoint,
    tls,
    deadlineMs,
  });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  pki = makePki();
  tlsServer = await startInventory(serverTls(pki));
  mtlsServer = await startInventory(serverTls(pki, true));
  for (const s of [tlsServer, mtlsServer])
    s.items.set('T1', { sku: 'T1', quantity: 1, version: '1', status: 'IN_STOCK', reserved: false });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all([tlsServer?.close(), mtlsServer?.close()]);
  pki?.cleanup();
});

describe('TLS', () => {
  it('works with the CA that signed the server certificate, as a file path or as PEM text', async () => {
    const byPath = await connector(tlsServer.endpoint, { caCert: pki.caCert });
    expect(await byPath.call('Get', { sku: 'T1' })).toMatchObject({ sku: 'T1', quantity: 1 });
    expect((await byPath.test()).ok).toBe(true);
    const byPem = await connector(tlsServer.endpoint, { caCert: pki.read(pki.caCert).toString('utf8') });
    expect(await byPem.call('Get', { sku: 'T1' })).toMatchObject({ sku: 'T1' });
    // The certificate names localhost too.
    const byName = await connector(`localhost:${tlsServer.port}`, { caCert: pki.caCert });
    expect(await byName.call('Get', { sku: 'T1' })).toMatchObject({ sku: 'T1' });
  });

  it('fails with a clear, retryable error when the server certificate is not signed by the given CA', async () => {
    const c = await connector(tlsServer.endpoint, { caCert: pki.otherCaCert }, 1_000);
    // A generous call deadline: the failed handshake answers at once, however busy the machine.
    const err = await expectIntegrationError(
      () => c.call('Get', { sku: 'T1' }, { deadlineMs: 10_000 }),
      [ErrorCode.ProviderUnavailable, ErrorCode.ConnectionTimeout],
    );
    expect(err.message).toMatch(/^\[connector-grpc secure\] Get failed: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).toContain('TLS handshake failed: check tls.caCert');
    expect(isTransient(err.code)).toBe(true);
    const t = await c.test();
    expect(t.ok).toBe(false);
    expect(t.detail).toContain('not ready within 1000 ms');
    expect(t.detail).toMatch(/certificate/i);
  });

  it('a plaintext connector cannot talk to a TLS server', async () => {
    const c = await createGrpcConnector({
      name: 'plain',
      protoFile: PROTO,
      service: 'inventory.Inventory',
      endpoint: tlsServer.endpoint,
      deadlineMs: 1_000,
    });
    opened.push(c);
    const err = await expectIntegrationError(
      () => c.call('Get', { sku: 'T1' }),
      [ErrorCode.ProviderUnavailable, ErrorCode.ConnectionTimeout],
    );
    expect(err.message).toContain('[connector-grpc plain] Get failed');
  });
});

describe('mutual TLS', () => {
  it('a client certificate signed by the CA is accepted', async () => {
    const c = await connector(mtlsServer.endpoint, {
      caCert: pki.caCert,
      clientCert: pki.clientCert,
      clientKey: pki.read(pki.clientKey).toString('utf8'),
    });
    expect(await c.call('Get', { sku: 'T1' })).toMatchObject({ sku: 'T1' });
    await c.call('Update', { sku: 'T1', delta: 1 });
    expect(mtlsServer.items.get('T1')!.quantity).toBe(2);
  });

  it('without a client certificate the server refuses the connection; the key never shows in errors', async () => {
    const c = await connector(mtlsServer.endpoint, { caCert: pki.caCert }, 1_000);
    const err = await expectIntegrationError(
      () => c.call('Get', { sku: 'T1' }),
      [ErrorCode.ProviderUnavailable, ErrorCode.ConnectionTimeout],
    );
    expect(err.message).toContain('[connector-grpc secure] Get failed');
    const key = pki.read(pki.clientKey).toString('utf8');
    const broken = await expectIntegrationError(
      () => connector(mtlsServer.endpoint, { caCert: pki.caCert, clientKey: key }),
      ErrorCode.InvalidConfiguration,
    );
    expect(broken.message).toContain('tls.clientCert and tls.clientKey go together');
    expect(broken.message).not.toContain('PRIVATE KEY');
  });
});
