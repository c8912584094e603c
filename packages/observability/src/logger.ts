import {
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
  pino,
} from 'pino';
import { createRedactor } from './redact';

export interface CreateLoggerOptions {
  /** Minimum level written (`trace` … `fatal`, or `silent`). Default `"info"`. */
  level?: LoggerOptions['level'];
  /** `name` field on every line (e.g. `"fraiseql-server"`). Default: none. */
  name?: string;
  /**
   * Where lines go: a stream (anything with `write(string)`), a file path, or a file descriptor.
   * Default: standard output.
   */
  destination?: DestinationStream | NodeJS.WritableStream | string | number;
  /**
   * Literal secret values to mask wherever they appear (e.g. the API key read from the
   * environment at start-up), in addition to the patterns `redactSecrets` knows. Values shorter
   * than 4 characters are ignored. Default: none.
   */
  secrets?: readonly (string | undefined)[];
  /**
   * More object keys whose values are always masked, compared case- and separator-insensitively
   * (`"sessionId"` also masks `session_id`). Built in: password, secret, token, apiKey,
   * authorization, cookie, privateKey, accessKey and anything ending in those, plus auth, dsn.
   * Default: none.
   */
  redactKeys?: readonly string[];
}

/**
 * A pino logger that keeps secrets out of its output: values under secret-looking keys (at any
 * depth, in headers, options, error fields) become `***`; every string — messages, interpolated
 * arguments, error messages, stacks and their `cause` chain, child bindings — goes through core's
 * `redactSecrets` (passwords in URLs, `Bearer` tokens, `api_key=` parameters, search engine key
 * headers) and loses the literal `secrets`. A bare key in free text is only caught when it is one
 * of `secrets`. Errors logged as the first argument or under `err` keep pino's usual shape.
 */
export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const redact = createRedactor({
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
    ...(opts.redactKeys ? { keys: opts.redactKeys } : {}),
  });
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    formatters: {
      // Runs on the merge object before pino's serializers, so nothing unredacted reaches them.
      log: (obj) => redact.value(obj) as Record<string, unknown>,
    },
    // The log formatter has already serialized (and scrubbed) errors; pino's own err serializer
    // would serialize that plain object a second time.
    serializers: { err: (value: unknown) => value },
    hooks: {
      // The message is not part of the merge object: pino takes it from the arguments or, when
      // none is given, from the logged error's message — scrub both here.
      logMethod(args, method) {
        const out: unknown[] = args.map((a, i) => (i === 0 && typeof a === 'object' ? a : redact.value(a)));
        const first = out[0];
        if (first !== null && typeof first === 'object' && out[1] === undefined) {
          const err =
            first instanceof Error
              ? first
              : (first as { msg?: unknown }).msg === undefined
                ? (first as { err?: unknown }).err
                : undefined;
          if (err instanceof Error) out[1] = redact.string(err.message);
        }
        return method.apply(this, out as Parameters<typeof method>);
      },
    },
  };
  const dest = opts.destination;
  const logger =
    dest === undefined
      ? pino(options)
      : pino(
          options,
          typeof dest === 'string' || typeof dest === 'number'
            ? pino.destination(dest)
            : (dest as DestinationStream),
        );
  // pino applies no formatter to child bindings; children inherit these through the prototype chain.
  type ChildFn = (this: Logger, bindings: Bindings, childOpts?: ChildLoggerOptions) => Logger;
  const child = logger.child as unknown as ChildFn;
  const { setBindings } = logger;
  const redactedChild: ChildFn = function (bindings, childOpts) {
    return child.call(this, redact.value(bindings) as Bindings, childOpts);
  };
  logger.child = redactedChild as unknown as Logger['child'];
  logger.setBindings = function (this: Logger, bindings: Bindings) {
    setBindings.call(this, redact.value(bindings) as Bindings);
  };
  return logger;
}
