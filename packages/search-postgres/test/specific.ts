import type { SearchSuiteContext } from '@fraiseql/testkit';
import type { Env } from './specific-helpers.ts';
import { filterTests, scaleTests, wordTests } from './specific-queries.ts';
import { catalogTests, indexNameTests } from './specific-schema.ts';
import { attachedTableTests, writeTests } from './specific-writes.ts';

export type { Env } from './specific-helpers.ts';

/** Backend-specific tests, registered inside the conformance suite (same provider, same schema). */
/**
 * `server` is known when the tests are registered (before `env()` can be called), so the
 * server-only scale test is registered only there rather than skipped on PGlite.
 */
export function postgresSearchTests(
  ctx: SearchSuiteContext,
  env: () => Env,
  opts: { server: boolean },
): void {
  wordTests(ctx, env);
  indexNameTests(ctx, env);
  catalogTests(ctx, env);
  writeTests(ctx, env);
  filterTests(ctx);
  attachedTableTests(env);
  if (opts.server) scaleTests(ctx);
}
