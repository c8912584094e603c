export * from './builtins';
export * from './http';
export * from './reindex';
export * from './worker';
