export * from './builtins';
export * from './http';
export * from './worker';
