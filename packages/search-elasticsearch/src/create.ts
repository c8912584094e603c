import type { ElasticsearchSearchOptions } from './options';
import { ElasticsearchSearch } from './provider';

/**
 * Creates the Elasticsearch search provider: checks that the node answers as Elasticsearch (the
 * client's product check) and accepts the credentials, then applies `indexes` with
 * `configureIndex`. An unreachable node is IN501/IN502 (IN102 after `timeoutMs`), refused
 * credentials IN406 — the key never appears in a message.
 */
export async function createElasticsearchSearch(
  opts: ElasticsearchSearchOptions,
): Promise<ElasticsearchSearch> {
  const provider = new ElasticsearchSearch(opts);
  try {
    await provider.connect(opts.indexes);
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
