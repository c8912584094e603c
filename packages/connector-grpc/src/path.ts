import { ErrorCode, IntegrationError, isPlainObject } from '@fraiseql/core';
import { PROVIDER } from './errors.ts';

/** Verbs an http-shaped caller puts in `method`; never an RPC name. */
const HTTP_VERBS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

export function isHttpVerb(value: string): boolean {
  return HTTP_VERBS.has(value.toUpperCase());
}

/** Keys that would reach an object's prototype: never set from a query string. */
const UNSAFE = new Set(['__proto__', 'prototype', 'constructor']);

export interface ParsedPath {
  /** The RPC name (`Get`). */
  method: string;
  /** Request fields from the query string (`?sku=A1&where.zone=3`), nested on dots. */
  fields: Record<string, unknown> | undefined;
}

/**
 * `Get`, `/inventory.Inventory/Get` or `Get?sku=A1&where.zone=3`. The service part of a full path
 * must be this connector's service, so a flow cannot silently call another one.
 */
export function parsePath(path: string, service: string, tag: string): ParsedPath {
  const q = path.indexOf('?');
  let name = q < 0 ? path : path.slice(0, q);
  if (name.startsWith('/')) name = name.slice(1);
  const slash = name.lastIndexOf('/');
  if (slash >= 0) {
    const svc = name.slice(0, slash);
    if (svc !== service)
      throw new IntegrationError(
        ErrorCode.RouteNotFound,
        `[${tag}] path ${JSON.stringify(path)} names service ${JSON.stringify(svc)}, this connector calls ${service}`,
        { provider: PROVIDER, field: 'path' },
      );
    name = name.slice(slash + 1);
  }
  if (q < 0) return { method: name, fields: undefined };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(path.slice(q + 1))) {
    const parts = key.split('.');
    if (parts.some((p) => p === '' || UNSAFE.has(p)))
      throw IntegrationError.invalidInput(
        ErrorCode.UnsupportedOperation,
        `[${tag}] path ${JSON.stringify(name)}: query key ${JSON.stringify(key)} is not a field path`,
        'path',
      );
    let at = fields;
    for (const p of parts.slice(0, -1)) {
      if (!isPlainObject(at[p])) at[p] = {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = value;
  }
  return { method: name, fields };
}

/**
 * The request message: `body` (a plain object, or nothing) with the query fields over it. Query
 * values are strings; protobuf.js converts them for numeric and enum fields, and `"true"`/`"false"`
 * are made booleans here for bool fields (protobuf.js would read any non-empty string as true).
 */
export function requestMessage(
  body: unknown,
  fields: Record<string, unknown> | undefined,
  boolFields: ReadonlySet<string>,
  tag: string,
  method: string,
): Record<string, unknown> {
  if (body !== undefined && body !== null && !isPlainObject(body))
    throw IntegrationError.invalidInput(
      ErrorCode.UnsupportedOperation,
      `[${tag}] ${method}: the request message must be an object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
      'body',
    );
  const base = (body ?? {}) as Record<string, unknown>;
  if (!fields) return base;
  for (const [k, v] of Object.entries(fields))
    if (boolFields.has(k) && typeof v === 'string') fields[k] = v === 'true' || v === '1';
  return { ...base, ...fields };
}
