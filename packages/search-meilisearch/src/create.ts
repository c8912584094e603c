import type { MeilisearchSearchOptions } from './options';
import { MeilisearchSearch } from './provider';

/**
 * Creates the Meilisearch search provider: checks that the server answers `/health` and accepts
 * the API key, then applies `indexes` with `configureIndex`. An unreachable server is IN501/IN502
 * (or IN102 after `timeoutMs`), a refused key IN400 — the key never appears in a message.
 */
export async function createMeilisearchSearch(opts: MeilisearchSearchOptions): Promise<MeilisearchSearch> {
  const provider = new MeilisearchSearch(opts);
  try {
    await provider.connect(opts.indexes);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
