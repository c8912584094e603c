import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const PROTO = fileURLToPath(new URL('./fixtures/inventory.proto', import.meta.url));

export interface Item {
  sku: string;
  quantity: number;
  version: string;
  status: string;
  reserved: boolean;
}

export interface InventoryServer {
  /** `127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  items: Map<string, Item>;
  /** Requests as the server decoded them, with their metadata. */
  received: { method: string; request: any; metadata: Record<string, unknown> }[];
  /** Milliseconds `Slow` waits before answering. */
  slowMs: number;
  close(): Promise<void>;
}

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** An `inventory.Inventory` server on a free port of 127.0.0.1 (TLS with `creds`). */
export async function startInventory(
  creds: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<InventoryServer> {
  const pkg = loadSync(PROTO, loaderOptions);
  const server = new grpc.Server();
  const state: InventoryServer = {
    endpoint: '',
    port: 0,
    items: new Map(),
    received: [],
    slowMs: 2_000,
    close: () =>
      new Promise((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
  const record = (method: string, call: grpc.ServerUnaryCall<any, any>) =>
    state.received.push({ method, request: call.request, metadata: call.metadata.getMap() });
  const item = (sku: string): Item =>
    state.items.get(sku) ?? { sku, quantity: 0, version: '0', status: 'UNKNOWN', reserved: false };
  server.addService(pkg['inventory.Inventory'] as grpc.ServiceDefinition, {
    Get(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<Item>) {
      record('Get', call);
      const found = state.items.get(call.request.sku);
      if (!found) return cb({ code: grpc.status.NOT_FOUND, details: `no item ${call.request.sku}` });
      cb(null, { ...found, reserved: call.request.include_reserved === true });
    },
    Update(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<unknown>) {
      record('Update', call);
      const { sku, delta } = call.request;
      if (!sku) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'sku is required' });
      const it = item(sku);
      const next = { ...it, quantity: it.quantity + delta, version: String(Number(it.version) + 1) };
      state.items.set(sku, next);
      cb(null, { sku, quantity: next.quantity });
    },
    Slow(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<Item>) {
      record('Slow', call);
      const t = setTimeout(() => cb(null, item(call.request.sku)), state.slowMs);
      call.on('cancelled', () => clearTimeout(t));
    },
    Fail(call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<Item>) {
      record('Fail', call);
      cb({ code: call.request.code, details: call.request.details });
    },
    Watch(call: grpc.ServerWritableStream<any, any>) {
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  state.port = port;
  state.endpoint = `127.0.0.1:${port}`;
  return state;
}

export interface Pki {
  dir: string;
  /** File paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  otherCaCert: string;
  read(path: string): Buffer;
  cleanup(): void;
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'fraiseql-grpc-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.key`));
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      f(`${name}.key`),
      '-subj',
      `/CN=fraiseql test ${name}`,
      '-days',
      '2',
      '-out',
      f(`${name}.crt`),
    );
  };
  const leaf = (name: string, cn: string, ext: string) => {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(`${name}.key`));
    ssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'flows-client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCaCert: f('other-ca.crt'),
    read: (path) => readFileSync(path),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Server TLS credentials from the PKI; `requireClientCert` turns on mutual TLS. */
export function serverTls(pki: Pki, requireClientCert = false): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    requireClientCert ? pki.read(pki.caCert) : null,
    [{ private_key: pki.read(pki.serverKey), cert_chain: pki.read(pki.serverCert) }],
    requireClientCert,
  );
}
