export * from './fields';
export * from './job-result';
export * from './options';
export * from './problems';
export * from './secrets';
export * from './timeout';
