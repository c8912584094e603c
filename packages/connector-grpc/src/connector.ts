import {
  assertOptionsObject,
  configError,
  ErrorCode,
  IntegrationError,
  isPlainObject,
  positiveOption,
  stringOption,
} from '@fraiseql/core';
import { Client, connectivityState, Metadata, status } from '@grpc/grpc-js';
import { cleanDetails, closedError, PROVIDER, statusError } from './errors.ts';
import { isHttpVerb, parsePath, requestMessage } from './path.ts';
import { loadService, type UnaryMethod } from './proto.ts';
import { channelCredentials } from './tls.ts';
import type {
  DeliverMessage,
  GrpcCallOptions,
  GrpcConnector,
  GrpcConnectorOptions,
  GrpcDestination,
  GrpcRequest,
  GrpcResponse,
} from './types.ts';

export const DEFAULT_DEADLINE_MS = 5_000;
/** Longest wait for the reason a channel is not ready (after waitForReady gave up). */
const PROBE_MS = 1_000;

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function required(value: unknown, field: string, shape: string, tag: string): string {
  const v = stringOption(value, field, undefined, tag);
  if (v === undefined) throw configError(tag, `${field} is required (${shape})`, field);
  return v;
}

/** Request metadata; a key gRPC refuses is the caller's input error (IN005), not a crash. */
function toMetadata(entries: Record<string, string | Uint8Array> | undefined, tag: string, method: string) {
  const md = new Metadata();
  if (!entries) return md;
  for (const [key, value] of Object.entries(entries)) {
    try {
      md.set(key.toLowerCase(), typeof value === 'string' ? value : Buffer.from(value));
    } catch (err) {
      throw IntegrationError.invalidInput(
        ErrorCode.UnsupportedOperation,
        `[${tag}] ${method}: metadata ${JSON.stringify(key)} refused: ${(err as Error).message}`,
        'metadata',
      );
    }
  }
  return md;
}

/**
 * A gRPC connector: unary calls by method name to one service of a .proto file, with a deadline per
 * call, TLS or mutual TLS, and every non-OK status turned into a `GrpcStatusError` that names the
 * connector, the method and the gRPC status (`[connector-grpc inv] Update failed: UNAVAILABLE (14): …`).
 * For flows, `request({ path: 'Get?sku={sku}' })` calls `Get` (enrich) and `deliver` calls the RPC
 * named by the destination's `path` with the message body.
 */
export async function createGrpcConnector(options: GrpcConnectorOptions): Promise<GrpcConnector> {
  assertOptionsObject(options, PROVIDER);
  const name = stringOption(options.name, 'name', undefined, PROVIDER);
  if (name === undefined) throw configError(PROVIDER, 'name is required', 'name');
  const tag = `${PROVIDER} ${name}`;
  const service = required(options.service, 'service', 'package.Service', tag);
  const endpoint = required(options.endpoint, 'endpoint', 'host:port', tag);
  if (options.protoFile === undefined) throw configError(tag, 'protoFile is required', 'protoFile');
  const deadlineMs = positiveOption(
    options.deadlineMs,
    'deadlineMs',
    DEFAULT_DEADLINE_MS,
    tag,
    'milliseconds',
  );
  if (options.loaderOptions !== undefined && !isPlainObject(options.loaderOptions))
    throw configError(tag, 'loaderOptions must be an object', 'loaderOptions');
  if (options.channelOptions !== undefined && !isPlainObject(options.channelOptions))
    throw configError(tag, 'channelOptions must be an object', 'channelOptions');

  const { unary, streaming } = loadService(options.protoFile, service, options.loaderOptions, tag);
  const creds = channelCredentials(options.tls, tag);
  // Both spellings grpc-js clients offer: `Update` as in the .proto and `update`.
  const byName = new Map<string, UnaryMethod>(unary);
  for (const [n, m] of unary) if (!byName.has(lowerFirst(n))) byName.set(lowerFirst(n), m);
  const methods = Object.freeze([...unary.keys()]);

  let client: Client;
  try {
    client = new Client(endpoint, creds, options.channelOptions ?? {});
  } catch (err) {
    throw configError(tag, `endpoint ${JSON.stringify(endpoint)}: ${(err as Error).message}`, 'endpoint');
  }
  let closed = false;

  function method(nameOrAlias: string): UnaryMethod {
    const m = byName.get(nameOrAlias);
    if (m) return m;
    if (streaming.has(nameOrAlias))
      throw IntegrationError.invalidInput(
        ErrorCode.UnsupportedOperation,
        `[${tag}] ${service}.${nameOrAlias} is a streaming method; this connector makes unary calls only`,
        'method',
      );
    throw new IntegrationError(
      ErrorCode.RouteNotFound,
      `[${tag}] unknown method ${JSON.stringify(nameOrAlias)} of ${service} (methods: ${methods.join(', ') || 'none'})`,
      { provider: PROVIDER, field: 'method' },
    );
  }

  function invoke(m: UnaryMethod, message: unknown, metadata: Metadata, ms: number): Promise<unknown> {
    if (closed) return Promise.reject(closedError(tag, m.name));
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.serialize,
        m.deserialize,
        message,
        metadata,
        { deadline: Date.now() + ms },
        (err, reply) => (err ? reject(statusError(tag, m.name, err)) : resolve(reply)),
      );
    });
  }

  // Not `async`: one promise per call, as with a grpc-js client (errors still arrive as rejections).
  function call(methodName: string, body?: unknown, opts?: GrpcCallOptions): Promise<unknown> {
    try {
      if (typeof methodName !== 'string' || methodName === '')
        throw IntegrationError.invalidInput(
          ErrorCode.UnsupportedOperation,
          `[${tag}] call needs a method name (methods: ${methods.join(', ')})`,
          'method',
        );
      const m = method(methodName);
      const ms =
        opts?.deadlineMs === undefined
          ? deadlineMs
          : positiveOption(opts.deadlineMs, 'deadlineMs', deadlineMs, tag, 'milliseconds');
      const message = requestMessage(body, undefined, m.boolFields, tag, m.name);
      return invoke(m, message, toMetadata(opts?.metadata, tag, m.name), ms);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Why the channel cannot connect: waitForReady only says "deadline", while a call on a failing
   * channel fails at once with grpc-js's "Last error: …" (a refused connection, a TLS failure).
   * The probe goes to the standard health-check path with an empty message, never to one of the
   * service's methods, so a test() has no side effect even if the channel connects meanwhile.
   */
  function lastConnectionError(): Promise<string | undefined> {
    return new Promise((done) => {
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        () => Buffer.alloc(0),
        (b: Buffer) => b,
        {},
        new Metadata(),
        { deadline: Date.now() + PROBE_MS },
        (err) => done(err?.code === status.UNAVAILABLE ? cleanDetails(err.details) : undefined),
      );
    });
  }

  /** Method + message from a path (`Get?sku=A1`) and a body. */
  function resolve(path: unknown, body: unknown, what: string) {
    if (typeof path !== 'string' || path === '' || path === '/')
      throw IntegrationError.invalidInput(
        ErrorCode.UnsupportedOperation,
        `[${tag}] ${what} needs a path naming the RPC (methods: ${methods.join(', ')})`,
        'path',
      );
    const parsed = parsePath(path, service, tag);
    const m = method(parsed.method);
    return { m, message: requestMessage(body, parsed.fields, m.boolFields, tag, m.name) };
  }

  return {
    name,
    type: 'grpc',
    service,
    methods,
    call,
    async request(req: GrpcRequest): Promise<GrpcResponse> {
      if (!isPlainObject(req)) throw configError(tag, 'request must be an object');
      const { m, message } = resolve(req.path, req.body, 'request');
      const body = await invoke(m, message, toMetadata(req.headers, tag, m.name), deadlineMs);
      return { status: 200, body };
    },
    async deliver(message: DeliverMessage, destination: GrpcDestination): Promise<void> {
      const d = isPlainObject(destination) ? destination : {};
      // `path` names the RPC; `method` only when it is not an HTTP verb (the engine's default POST).
      const path =
        typeof d.path === 'string' && d.path !== ''
          ? d.path
          : typeof d.method === 'string' && !isHttpVerb(d.method)
            ? d.method
            : undefined;
      const { m, message: msg } = resolve(path, message?.body, 'deliver');
      const md = new Metadata();
      if (message?.id !== undefined) md.set('x-message-id', String(message.id));
      await invoke(m, msg, md, deadlineMs);
    },
    test() {
      const started = performance.now();
      const latency = () => Math.round((performance.now() - started) * 100) / 100;
      if (closed) return Promise.resolve({ ok: false, latencyMs: 0, detail: 'connector is closed' });
      return new Promise((done) => {
        try {
          client.waitForReady(Date.now() + deadlineMs, (err) => {
            if (!err) return done({ ok: true, latencyMs: latency(), detail: `${endpoint} ready` });
            const state = connectivityState[client.getChannel().getConnectivityState(false)];
            const base = `${endpoint} not ready within ${deadlineMs} ms (channel ${state})`;
            void lastConnectionError().then((why) =>
              done({ ok: false, latencyMs: latency(), detail: `${base}: ${why ?? err.message}` }),
            );
          });
        } catch (err) {
          done({ ok: false, latencyMs: latency(), detail: String((err as Error).message) });
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
}
