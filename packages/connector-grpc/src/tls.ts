import { readFileSync } from 'node:fs';
import { configError, isPlainObject } from '@fraiseql/core';
import { type ChannelCredentials, credentials } from '@grpc/grpc-js';
import type { GrpcTlsOptions } from './types.ts';

const KEYS = [
  ['caCert', 'ca_cert'],
  ['clientCert', 'client_cert'],
  ['clientKey', 'client_key'],
] as const;

/**
 * PEM bytes of one TLS option: PEM text as it is, otherwise a file path read now (so a wrong path
 * is an IN002 at creation, not a connection failure later). Only the path is ever shown, never
 * the content: a key passed inline must not reach an error message.
 */
function pem(value: unknown, field: string, tag: string): Buffer | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value !== 'string' || value.trim() === '')
    throw configError(tag, `${field} must be PEM text or the path of a PEM file`, field);
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  let bytes: Buffer;
  try {
    bytes = readFileSync(value);
  } catch (err) {
    const why =
      (err as { code?: string }).code === 'ENOENT' ? 'no such file' : String((err as Error).message);
    throw configError(tag, `${field}: cannot read ${JSON.stringify(value)} (${why})`, field);
  }
  if (!bytes.includes('-----BEGIN'))
    throw configError(tag, `${field}: ${JSON.stringify(value)} is not a PEM file`, field);
  return bytes;
}

/** Channel credentials: plaintext without `tls`, TLS (and mutual TLS with a client pair) with it. */
export function channelCredentials(tls: GrpcTlsOptions | undefined, tag: string): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if (!isPlainObject(tls)) throw configError(tag, 'tls must be an object', 'tls');
  const known = new Set<string>(KEYS.map(([k]) => k));
  for (const key of Object.keys(tls))
    if (!known.has(key))
      throw configError(tag, `tls.${key} is not an option (caCert, clientCert, clientKey)`, `tls.${key}`);
  const [ca, cert, key] = KEYS.map(([k]) => pem((tls as Record<string, unknown>)[k], `tls.${k}`, tag));
  if ((cert === undefined) !== (key === undefined))
    throw configError(
      tag,
      'tls.clientCert and tls.clientKey go together (mutual TLS needs both)',
      cert ? 'tls.clientKey' : 'tls.clientCert',
    );
  try {
    return credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
  } catch (err) {
    // createSsl parses the PEM: its message names the problem, never the key's bytes.
    throw configError(tag, `tls: ${(err as Error).message}`, 'tls');
  }
}
