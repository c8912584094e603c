export { createGrpcConnector, DEFAULT_DEADLINE_MS } from './connector.ts';
export { GrpcStatusError, grpcStatusName } from './errors.ts';
export { DEFAULT_LOADER_OPTIONS } from './proto.ts';
export type * from './types.ts';
