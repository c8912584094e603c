export * from './cache';
export * from './queue';
export * from './search';
