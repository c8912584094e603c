import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A loopback TCP proxy in front of a backend that can be cut (every socket destroyed, new ones
 * refused) and restored on the same port: a network outage of the backend that leaves the shared
 * server itself, and everyone else's connections to it, alone.
 */
export interface CuttableProxy {
  readonly port: number;
  /** Connections accepted so far (each reconnect of a client counts). */
  readonly accepted: number;
  /** `url` with its host:port replaced by the proxy's. */
  rewrite(url: string): string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let accepted = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((client) => {
        accepted++;
        const upstream = tcpConnect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        port = (srv.address() as { port: number }).port;
        server = srv;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      const srv = server;
      server = undefined;
      if (!srv) return resolve();
      srv.close(() => resolve());
    });
  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    rewrite(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut: stop,
    restore: async () => {
      if (server) return;
      // The port was just released by this process; retry briefly in case the kernel lags.
      for (let i = 0; ; i++) {
        try {
          await listen();
          return;
        } catch (err) {
          if (i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    close: stop,
  };
}
