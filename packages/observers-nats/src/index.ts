export { decodeEvent, encodeEvent } from './codec';
export { decodeToken, encodeToken, eventSubject } from './subjects';
export { createNatsTransport, type NatsTransport, type NatsTransportOptions } from './transport';
