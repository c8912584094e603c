export { decodeBody, encodeBody } from './codec.ts';
export { createAmqpConnector } from './connector.ts';
export type * from './types.ts';
