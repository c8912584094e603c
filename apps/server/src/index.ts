export { HttpError } from './errors';
export { buildOpenApi } from './openapi';
export { backendQueueNames } from './queue-names';
export type { RouteSpec } from './route';
export { ROUTES } from './routes';
export {
  createServer,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_DOCUMENTS_BODY_LIMIT_BYTES,
  DEFAULT_HOST,
  DEFAULT_PORT,
  isLoopbackHost,
  type RunningServer,
  type ServerIntegrations,
  type ServerLogger,
  type ServerOptions,
  type StartServerOptions,
  startServer,
  TOKEN_ENV,
} from './server';
export { installSignalHandlers, type SignalHandlerOptions } from './signals';
