import { existsSync } from 'node:fs';
import { configError } from '@fraiseql/core';
import { loadSync, type MethodDefinition, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** Plain-JSON replies by default: field names as written, 64-bit integers and enums as strings. */
export const DEFAULT_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** One unary method, ready for `makeUnaryRequest`. */
export interface UnaryMethod {
  /** As in the .proto (`Update`). */
  name: string;
  /** `/inventory.Inventory/Update`. */
  path: string;
  serialize: (value: any) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
  /** Request fields of type bool (by proto name and JSON name): query-string values are coerced. */
  boolFields: ReadonlySet<string>;
}

export interface LoadedService {
  unary: Map<string, UnaryMethod>;
  /** Streaming methods by name: refused with a clear message rather than "unknown". */
  streaming: Set<string>;
}

const isService = (v: unknown): v is Record<string, MethodDefinition<unknown, unknown>> =>
  typeof v === 'object' &&
  v !== null &&
  !('format' in v) &&
  Object.values(v).every((m) => typeof m === 'object' && m !== null && 'requestStream' in m);

function boolFieldsOf(def: MethodDefinition<unknown, unknown>): Set<string> {
  const out = new Set<string>();
  const fields = (def.requestType?.type as { field?: { name?: string; jsonName?: string; type?: unknown }[] })
    ?.field;
  for (const f of fields ?? []) {
    if (f.type !== 'TYPE_BOOL' && f.type !== 8) continue;
    if (f.name) out.add(f.name);
    if (f.jsonName) out.add(f.jsonName);
  }
  return out;
}

/**
 * Loads the .proto file(s) and finds `service` in them: a missing file, a parse error or an
 * unknown service is IN002 at creation (the message lists the services the files define).
 */
export function loadService(
  protoFile: string | string[],
  service: string,
  loaderOptions: Options | undefined,
  tag: string,
): LoadedService {
  const files = Array.isArray(protoFile) ? protoFile : [protoFile];
  if (files.length === 0 || files.some((f) => typeof f !== 'string' || f === ''))
    throw configError(tag, 'protoFile must be a path (or a list of paths) to .proto files', 'protoFile');
  const includeDirs = loaderOptions?.includeDirs;
  for (const f of files) {
    // With includeDirs, a relative name is resolved by proto-loader against them.
    if (!includeDirs?.length && !existsSync(f))
      throw configError(tag, `protoFile ${JSON.stringify(f)} does not exist`, 'protoFile');
  }
  let pkg: PackageDefinition;
  try {
    pkg = loadSync(files, { ...DEFAULT_LOADER_OPTIONS, ...loaderOptions });
  } catch (err) {
    throw configError(tag, `cannot load ${files.join(', ')}: ${(err as Error).message}`, 'protoFile');
  }
  const def = pkg[service];
  if (!isService(def)) {
    const services = Object.keys(pkg).filter((k) => isService(pkg[k]));
    throw configError(
      tag,
      `service ${JSON.stringify(service)} is not defined in ${files.join(', ')} ` +
        `(services: ${services.length ? services.join(', ') : 'none'}; use the fully qualified name, package.Service)`,
      'service',
    );
  }
  const unary = new Map<string, UnaryMethod>();
  const streaming = new Set<string>();
  for (const [name, m] of Object.entries(def)) {
    if (m.requestStream || m.responseStream) {
      streaming.add(name);
      continue;
    }
    unary.set(name, {
      name,
      path: m.path,
      serialize: m.requestSerialize as (value: any) => Buffer,
      deserialize: m.responseDeserialize as (bytes: Buffer) => unknown,
      boolFields: boolFieldsOf(m),
    });
  }
  return { unary, streaming };
}
