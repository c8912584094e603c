import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The operations dashboard (`@fraiseql/dashboard`, DESIGN §11) under `/ui/`: static files built by
 * Vite, resolved from the installed package at startup. The files carry no secret, so they are
 * public like `/health`; every API call the page makes sends the bearer token itself.
 */

export interface UiOptions {
  /**
   * Folder holding the built dashboard (its `index.html`). Default: `dist/` of the installed
   * `@fraiseql/dashboard`; `null` serves the "not built" 404 (the server starts either way).
   */
  root?: string | null;
}

const NOT_BUILT =
  'The dashboard is not built: run `pnpm build` (or `pnpm --filter @fraiseql/dashboard build`) and restart the server.\n';

/**
 * Only our own files: no inline script, no external origin, no framing. `style-src` allows inline
 * style attributes, which Preact sets for charts.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `dist/` of the installed dashboard package, when it has been built. */
export function dashboardRoot(): string | undefined {
  try {
    const here = typeof __filename === 'string' ? __filename : import.meta.url;
    const pkg = createRequire(here).resolve('@fraiseql/dashboard/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : undefined;
  } catch {
    return undefined;
  }
}

/** Route config the server's hooks read: public (no token), labelled `/ui/*` in the metrics. */
const PUBLIC = (url: string) => ({ spec: { public: true, url } });

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

const wantsHtml = (req: FastifyRequest): boolean => /\btext\/html\b/i.test(req.headers.accept ?? '');

/** Registers `/ui/*`, `/ui` → `/ui/`, and `/` → `/ui/` for browsers (JSON clients keep the 404). */
export async function registerUi(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  const root = opts.root === null ? undefined : (opts.root ?? dashboardRoot());
  if (root) await app.register(fastifyStatic, { root, serve: false, decorateReply: true });

  app.get('/', { config: PUBLIC('/') }, async (req, reply) => {
    if (wantsHtml(req)) return reply.redirect('/ui/', 302);
    return reply.callNotFound();
  });
  app.get('/ui', { config: PUBLIC('/ui') }, async (_req, reply) => reply.redirect('/ui/', 301));
  app.get('/ui/*', { config: PUBLIC('/ui/*') }, async (req, reply) => {
    if (!root) return reply.code(404).type('text/plain; charset=utf-8').send(NOT_BUILT);
    const file = (req.params as { '*'?: string })['*'] || 'index.html';
    // Hashed assets never change; index.html must be re-read so a new build is picked up.
    const immutable = file.startsWith('assets/');
    secure(reply).header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.sendFile(file, root, { cacheControl: false, dotfiles: 'deny' });
  });
}
