export { createMemoryCache, type MemoryCacheOptions, type MemoryCacheProvider } from './provider';
