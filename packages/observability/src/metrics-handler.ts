import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '@fraiseql/core';
import type { Registry } from 'prom-client';

export interface MetricsHandlerOptions {
  /**
   * Path served; other paths get 404. `null` serves every path, for a handler mounted under a
   * router that already matched the route. The query string is ignored. Default `"/metrics"`.
   */
  path?: string | null;
}

/**
 * A plain Node `(req, res)` handler serving the registry in the Prometheus text format (the
 * registry's own content type, so an OpenMetrics registry is served as OpenMetrics). Works with
 * `http.createServer`, Express, Connect, or Fastify's raw `reply.raw`. GET and HEAD only (405
 * with `Allow` otherwise); a metric whose collect callback throws is a 500 whose body says why,
 * with secrets removed.
 */
export function createMetricsHandler(
  registry: Registry,
  opts: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const path = opts.path === undefined ? '/metrics' : opts.path;
  return (req, res) => {
    const reqPath = (req.url ?? '/').split('?')[0];
    if (path !== null && reqPath !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        const body = `Failed to collect metrics: ${describeError(err)}\n`;
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
      },
    );
  };
}
