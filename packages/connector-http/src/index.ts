export {
  backoffDelay,
  createHttpConnector,
  DEFAULT_BACKOFF,
  DEFAULT_TIMEOUT_MS,
  HttpStatusError,
} from './connector.ts';
export { TokenBucket } from './token-bucket.ts';
export type * from './types.ts';
