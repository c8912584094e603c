export { type AlgoliaSearchOptions, type AlgoliaSearchProvider, createAlgoliaSearch } from './provider';
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
