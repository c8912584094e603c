import { createServer, type Server } from 'node:http';
import type { IntegrationService } from '@fraiseql/core';
import type { Registry } from 'prom-client';

export interface WorkerHttpOptions {
  registry: Registry;
  service: IntegrationService;
  /** Default 9464 (the usual metrics port); 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/**
 * The worker's own `/metrics` (Prometheus text) and `/health` (200 when every provider answers,
 * 503 otherwise) — nothing else, so it is safe to expose to a scraper.
 */
export async function startWorkerHttp(
  opts: WorkerHttpOptions,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET')
      return send(
        405,
        'application/json',
        JSON.stringify({ error: { code: 'IN002', message: 'Only GET is served here' } }),
      );
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics collection failed'),
      );
      return;
    }
    if (path === '/health') {
      opts.service.healthCheck().then((health) => {
        const ok = Object.values(health).every(Boolean);
        send(
          ok ? 200 : 503,
          'application/json',
          JSON.stringify({ status: ok ? 'ok' : 'unhealthy', providers: health }),
        );
      });
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: { code: 'IN002', message: `No route ${path}` } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9464, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
