export * from './config';
export type { CacheCommonOptions, CacheProvider, GetOrSetOptions } from './contracts/cache';
export type { Provider } from './contracts/provider';
export type {
  EnqueueOptions,
  Job,
  JobHandler,
  JobInfo,
  JobResult,
  JobState,
  ListJobsQuery,
  QueueCapabilities,
  QueueCommonOptions,
  QueueOptions,
  QueueProvider,
  Worker,
  WorkerEvent,
  WorkerEvents,
  WorkerOptions,
} from './contracts/queue';
export { DEFAULT_QUEUE_OPTIONS } from './contracts/queue';
export type {
  BulkResult,
  Document,
  FacetCount,
  IndexConfig,
  SearchAliases,
  SearchCommonOptions,
  SearchHit,
  SearchProvider,
  SearchQuery,
  SearchResult,
} from './contracts/search';
export { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT } from './contracts/search';
export * from './errors';
export * from './filter';
export * from './filter-expression';
export * from './glob';
export * from './integrations';
export * from './kit';
export * from './queue-options';
export * from './reindex';
export * from './resilience';
export * from './resilient-providers';
export * from './service';
export * from './single-flight';
export * from './single-select';
export * from './slo';
export * from './validation';
