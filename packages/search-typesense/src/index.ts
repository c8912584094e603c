/**
 * `@fraiseql/search-typesense` — the SearchProvider contract on Typesense, through the official
 * `typesense` client.
 *
 * How the portable contract maps onto Typesense:
 * - Each index is a collection. `configureIndex` derives its fields from the IndexConfig
 *   (searchable → `string*`, filterable → `facet: true`, sortable → `sort: true`, types not given
 *   by the config are `auto`, plus a `.*` auto field) or takes them from `collections`; an
 *   existing collection gets the missing fields added (and changed flags dropped/re-added).
 * - Filters: equality and `exists` use two hidden fields every written document carries
 *   (`_fields`, `_values`: hex tokens of its field paths and scalar values — see core
 *   `toTypesenseFilter`), so values may contain any character, backticks included, and equality
 *   is exact and type-strict. Ranges use the native numeric fields; string ranges are IN101.
 *   The hidden fields are excluded from every returned document.
 * - Words: `q` over the searchable fields with every word required (`drop_tokens_threshold: 0`),
 *   the last word as a prefix, typos off (`num_typos: 0`) so results are deterministic; `""` is
 *   `q: "*"`. Highlights come from `highlight_full_fields` with `<mark>` tags, so short fields come
 *   back whole.
 * - `limit` up to 1000 although Typesense caps `per_page` at 250: pages are fetched as needed.
 *   `totalHits` is Typesense's `found` (exact). Long filters go through `POST /multi_search`.
 * - Numbers are typed by Typesense from the first value (int64 for integers, float otherwise);
 *   documents are imported with `dirty_values: reject`, so a later value of another type is a
 *   per-document failure in `BulkResult.failed` rather than a silent coercion. Declare the exact
 *   types in `collections` when a field mixes integers and decimals.
 * - Errors: unknown collection IN100, rejected query IN101, timeouts IN102, 401/403 IN401 (provider
 *   "typesense"), unreachable nodes IN5xx; the API key never appears in a message.
 */
import { checkOptions, type TypesenseSearchOptions } from './options';
import { TypesenseSearchProvider } from './provider';
import { configFromSchema } from './schema';

export type { TypesenseNode, TypesenseSearchOptions } from './options';
export { TypesenseSearchProvider } from './provider';
export { planPages, TYPESENSE_MAX_PER_PAGE } from './query';
export type { TypesenseCollectionSchema, TypesenseFieldSchema } from './schema';

/**
 * Connects to Typesense: checks `/health` (a coded error when the nodes cannot be reached) and
 * configures the collections of `indexes` and `collections`.
 */
export async function createTypesenseSearch(opts: TypesenseSearchOptions): Promise<TypesenseSearchProvider> {
  checkOptions(opts);
  const provider = new TypesenseSearchProvider(opts);
  try {
    await provider.assertHealthy();
    for (const [index, schema] of Object.entries(opts.collections ?? {})) {
      await provider.configureIndex(index, opts.indexes?.[index] ?? configFromSchema(schema.fields));
    }
    for (const [index, config] of Object.entries(opts.indexes ?? {})) {
      if (!opts.collections?.[index]) await provider.configureIndex(index, config);
    }
  } catch (err) {
    await provider.close();
    throw err;
  }
  return provider;
}
