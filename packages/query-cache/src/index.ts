export { type Analysis, analyze, type BypassReason, VOLATILE_FUNCTIONS } from './analyze';
export {
  type CachedQueryOptions,
  createQueryCache,
  type QueryCache,
  type QueryCacheOptions,
  type QueryCacheStats,
} from './query-cache';
