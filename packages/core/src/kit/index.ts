export * from './fields';
export * from './job-result';
export * from './options';
export * from './problems';
export * from './search-query';
export * from './secrets';
export * from './timeout';
