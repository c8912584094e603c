export { DEFAULT_REDIS_URL } from './connection';
export {
  createRedisCache,
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_PREFIX,
  DEFAULT_TTL_MS,
  type RedisCacheOptions,
  type RedisCacheProvider,
} from './provider';
