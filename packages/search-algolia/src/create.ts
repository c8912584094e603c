import type { AlgoliaSearchOptions, AlgoliaSearchProvider } from './options';
import { AlgoliaSearch } from './provider';

/**
 * Creates the Algolia search provider on the official `algoliasearch` v5 client and configures
 * the indexes given in `opts.indexes`.
 *
 * Engine specifics (see the package README): writes resolve once Algolia has published their
 * task; `sort` is served by standard replicas (`<index>_<field>_asc|desc`, created by
 * `configureIndex`; a multi-key sort gets its own replica on first use); `exists` uses a hidden
 * `_fields` facet; an OR group that mixes numeric with string/boolean/exists conditions runs as a
 * few disjoint queries in one multi-query request.
 */
export async function createAlgoliaSearch(opts: AlgoliaSearchOptions): Promise<AlgoliaSearchProvider> {
  const provider = new AlgoliaSearch(opts);
  try {
    for (const [index, config] of Object.entries(opts.indexes ?? {}))
      await provider.configureIndex(index, config);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
