export { createAlgoliaSearch } from './create';
export type { AlgoliaSearchOptions, AlgoliaSearchProvider } from './options';
export {
  compareForSort,
  presentFields,
  replicaName,
  replicaRanking,
  SORT_ATTRIBUTE,
  STRING_SORT_CHARS,
  sortKey,
  stringSortKey,
} from './records';
