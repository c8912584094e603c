import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect as tcp } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';

export const BROKER = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** Waits until `cond()` holds, polling; fails naming `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A topic prefix no other run uses. */
export const prefix = () => `fqt/${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;

/** A plain mqtt.js client for arranging and observing. */
export function rawClient(url = BROKER): Promise<MqttClient> {
  return connectAsync(url, { clientId: `fqt_raw_${randomBytes(4).toString('hex')}`, reconnectPeriod: 200 });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcp({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export interface OwnBroker {
  url: string;
  port: number;
  /** SIGKILL: the broker dies with whatever it held in memory. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A mosquitto of this test alone (`mosquitto -p <free port>`), to kill and restart. */
export async function ownMosquitto(): Promise<OwnBroker> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const broker: OwnBroker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const c = spawn('mosquitto', ['-p', String(port)], { stdio: 'ignore' });
      child = c;
      await until(() => listening(port), 10_000, `mosquitto on port ${port}`);
    },
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    stop: () => broker.kill(),
  };
  await broker.start();
  return broker;
}

export interface Proxy {
  url: string;
  /** Destroys every proxied connection (a network cut); new connections still go through. */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of the shared broker, to cut a client's connection without touching the broker. */
export async function tcpProxy(target = BROKER): Promise<Proxy> {
  const t = new URL(target);
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((inbound) => {
    const outbound = tcp({ host: t.hostname, port: Number(t.port) || 1883 });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
