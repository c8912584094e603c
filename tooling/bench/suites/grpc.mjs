// grpc: unary calls per second through @fraiseql/connector-grpc (`call('Update', body)`) against
// the same call made with @grpc/grpc-js directly (a client from loadPackageDefinition, `Update(req,
// { deadline }, cb)` wrapped in a promise). Both sides load the same .proto with the same loader
// options, use plaintext channels with the same options, set the same 5 s deadline per call and
// talk to one server running in a child process (so the server's work is not charged to either
// side's event loop). Measured sequentially and with 32 calls in flight, in alternating slices,
// plus the client process's CPU time per call.
//
// @grpc/grpc-js and the connector are loaded from packages/connector-grpc (its dist and its
// node_modules), so the bench package needs no dependency of its own on them.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compare } from '../lib/harness.mjs';

export const name = 'grpc';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..', '..', '..', 'packages', 'connector-grpc');
const PROTO = join(pkgDir, 'test', 'fixtures', 'inventory.proto');
const LOADER = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const DEADLINE_MS = 5_000;

// The server: Update answers at once; run with cwd = the connector package so @grpc/* resolve.
const SERVER = `
const grpc = require('@grpc/grpc-js');
const { loadSync } = require('@grpc/proto-loader');
const pkg = loadSync(process.env.PROTO, ${JSON.stringify(LOADER)});
const server = new grpc.Server();
server.addService(pkg['inventory.Inventory'], {
  Update: (call, cb) => cb(null, { sku: call.request.sku, quantity: call.request.delta }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err); process.exit(1); }
  console.log('PORT ' + port);
});
`;

function startServer() {
  const proc = spawn(process.execPath, ['-e', SERVER], {
    cwd: pkgDir,
    env: { ...process.env, PROTO },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.once('exit', (code) => reject(new Error(`gRPC bench server exited with ${code}`)));
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ endpoint: `127.0.0.1:${m[1]}`, stop: () => proc.kill() });
    });
  });
}

const body = (i) => ({ sku: `sku-${i & 1023}`, delta: i & 7, order_id: `o-${i}` });

/**
 * Calls per second of both sides with `inFlight` callers, measured in alternating slices (ours,
 * peer, ours, …) so a load spike on this shared machine hits both sides alike instead of one round.
 */
async function interleaved(ours, peer, inFlight, ms) {
  const sides = [
    { op: ours, done: 0, time: 0, cpu: 0 },
    { op: peer, done: 0, time: 0, cpu: 0 },
  ];
  const slices = Math.max(4, Math.round(ms / 100));
  let i = 0;
  for (let s = 0; s < slices * 2; s++) {
    const side = sides[s % 2];
    const cpu = process.cpuUsage();
    const started = performance.now();
    const until = started + ms / slices;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < until) {
          await side.op(i++);
          side.done++;
        }
      }),
    );
    side.time += performance.now() - started;
    const used = process.cpuUsage(cpu);
    side.cpu += used.user + used.system;
  }
  // [calls/s, client CPU µs per call] of each side.
  return sides.map((x) => [(x.done / x.time) * 1000, x.cpu / x.done]);
}

export async function run(ctx) {
  const req = createRequire(join(pkgDir, 'package.json'));
  const grpc = req('@grpc/grpc-js');
  const { loadSync } = req('@grpc/proto-loader');
  const { createGrpcConnector } = await import(pathToFileURL(join(pkgDir, 'dist', 'index.js')).href);
  const ms = ctx.quick ? 700 : 2_000;
  const rounds = ctx.quick ? 3 : 5;

  const server = await startServer();
  const connector = await createGrpcConnector({
    name: 'bench',
    protoFile: PROTO,
    service: 'inventory.Inventory',
    endpoint: server.endpoint,
    deadlineMs: DEADLINE_MS,
    loaderOptions: LOADER,
  });
  const Inventory = grpc.loadPackageDefinition(loadSync(PROTO, LOADER)).inventory.Inventory;
  const direct = new Inventory(server.endpoint, grpc.credentials.createInsecure());
  const directCall = (r) =>
    new Promise((resolve, reject) =>
      direct.Update(r, { deadline: Date.now() + DEADLINE_MS }, (err, reply) =>
        err ? reject(err) : resolve(reply),
      ),
    );
  const ours = (i) => connector.call('Update', body(i));
  const peer = (i) => directCall(body(i));
  let last;
  try {
    // Both channels connected before the first timed call.
    await connector.call('Update', body(0));
    await directCall(body(0));
    return await compare({
      peerName: '@grpc/grpc-js client called directly',
      rounds,
      log: ctx.log,
      metrics: [
        { key: 'seq', benchmark: 'grpc: unary calls, sequential', unit: 'calls/s', aim: 0.9 },
        { key: 'c32', benchmark: 'grpc: unary calls, 32 in flight', unit: 'calls/s', aim: 0.9 },
        {
          // CPU time of this process per call: less sensitive to the machine's load than calls/s.
          key: 'cpu',
          benchmark: 'grpc: client CPU per call, 32 in flight',
          unit: 'µs',
          higherIsBetter: false,
          aim: 0.9,
        },
      ],
      // One interleaved measurement gives both sides' numbers: `ours` runs it, `peer` reads it.
      ours: async () => {
        const [[oSeq], [pSeq]] = await interleaved(ours, peer, 1, ms);
        const [[o32, oCpu], [p32, pCpu]] = await interleaved(ours, peer, 32, ms);
        last = { seq: pSeq, c32: p32, cpu: pCpu };
        return { seq: oSeq, c32: o32, cpu: oCpu };
      },
      peer: async () => last,
    });
  } finally {
    await connector.close();
    direct.close();
    server.stop();
  }
}
