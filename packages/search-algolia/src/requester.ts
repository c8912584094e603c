import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { algoliasearch } from 'algoliasearch';

type ClientOptions = NonNullable<Parameters<typeof algoliasearch>[2]>;
export type AlgoliaRequester = NonNullable<ClientOptions['requester']>;
type EndRequest = Parameters<AlgoliaRequester['send']>[0];
type EndResponse = Awaited<ReturnType<AlgoliaRequester['send']>>;

/**
 * The HTTP requester the Algolia client sends through: the same contract as the client's own
 * node requester (status 0 + `isTimedOut` instead of throwing, so the client's retry strategy
 * works unchanged), but on agents owned by one provider, so `close()` can destroy its sockets
 * and let the process exit, and with a total deadline per attempt (`connectTimeout` until the
 * response starts, then `responseTimeout` for the body).
 */
export interface OwnedRequester {
  requester: AlgoliaRequester;
  /** Aborts in-flight requests and destroys pooled sockets. */
  destroy(): void;
}

export function createOwnedRequester(): OwnedRequester {
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });
  const inFlight = new Set<http.ClientRequest>();
  let destroyed = false;

  const send = (request: EndRequest): Promise<EndResponse> =>
    new Promise((resolve) => {
      if (destroyed) {
        resolve({ status: 0, content: 'requester closed', isTimedOut: false });
        return;
      }
      const url = new URL(request.url);
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string> = { 'accept-encoding': 'gzip', ...request.headers };
      if (request.data !== undefined) {
        headers['content-length'] = String(
          typeof request.data === 'string' ? Buffer.byteLength(request.data) : request.data.byteLength,
        );
      }
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (response: EndResponse) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        inFlight.delete(req);
        resolve(response);
      };
      const arm = (ms: number, content: string) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          finish({ status: 0, content, isTimedOut: true });
          req.destroy();
        }, ms);
      };
      const req = (isHttps ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          agent: isHttps ? httpsAgent : httpAgent,
          headers,
        },
        (res) => {
          arm(request.responseTimeout, 'Socket timeout');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => finish({ status: 0, content: err.message, isTimedOut: false }));
          res.on('end', () => {
            let body = Buffer.concat(chunks);
            try {
              if (res.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
            } catch (err) {
              finish({ status: 0, content: (err as Error).message, isTimedOut: false });
              return;
            }
            const responseHeaders: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) responseHeaders[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            finish({
              status: res.statusCode ?? 0,
              content: body.toString('utf8'),
              headers: responseHeaders,
              isTimedOut: false,
            });
          });
        },
      );
      inFlight.add(req);
      arm(request.connectTimeout, 'Connection timeout');
      req.on('error', (err: NodeJS.ErrnoException) =>
        // The code (ECONNREFUSED, ENOTFOUND, …) is what the provider maps to IN5xx.
        finish({
          status: 0,
          content: err.code ? `${err.code}: ${err.message}` : err.message,
          isTimedOut: false,
        }),
      );
      if (request.data !== undefined) req.write(request.data);
      req.end();
    });

  return {
    requester: { send },
    destroy() {
      destroyed = true;
      for (const req of inFlight) req.destroy();
      inFlight.clear();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
