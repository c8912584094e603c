import {
  describeError,
  ErrorCode,
  IntegrationError,
  isIntegrationError,
  networkErrorCode,
} from '@fraiseql/core';

export const PROVIDER = 'redis';

/**
 * What ioredis says when a command never reached a connected server: the offline queue is off
 * (we fail fast instead of buffering), the connection closed under an in-flight command
 * (maxRetriesPerRequest), or a cluster has no reachable node.
 */
const NOT_CONNECTED =
  /Stream isn't writeable|enableOfflineQueue|Connection is closed|max retries per request|None of startup nodes|Cluster isn't ready|Failed to refresh slots cache|All nodes failed|Cluster is disconnected/i;

/** Server replies that mean "not serving right now", not "your command is wrong". */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|BUSY|READONLY)\b/;

/** Redis refusing INCRBY: the stored value is not a 64-bit integer, or the result would overflow. */
const NOT_AN_INTEGER = /not an integer|out of range|overflow/i;

export function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

export function isNotAnIntegerReply(err: unknown): boolean {
  return isReplyError(err) && NOT_AN_INTEGER.test((err as Error).message);
}

export interface ErrorContext {
  /** Passwords to scrub from messages beyond what `redactSecrets` finds by itself. */
  secrets: readonly (string | undefined)[];
  /** The last connection-level error the client emitted, for "not connected" messages. */
  lastConnectionError(): unknown;
}

/**
 * Turns anything ioredis threw into an IntegrationError with the driver error as `cause`:
 * network failures → IN5xx, "not connected" → IN201, command timeout → IN500, server busy /
 * loading / cluster down → IN502, any other server reply → IN403.
 */
export function toIntegrationError(err: unknown, context: string, ctx: ErrorContext): IntegrationError {
  if (isIntegrationError(err)) return err;
  scrubCommand(err, ctx.secrets);
  const message = describeError(err, ctx.secrets);
  const fail = (code: ErrorCode, text = message) =>
    IntegrationError.provider(code, PROVIDER, `[${PROVIDER}] ${context}: ${text}`, err);

  if (isReplyError(err)) {
    return fail(UNAVAILABLE_REPLY.test(message) ? ErrorCode.ProviderUnavailable : ErrorCode.RedisError);
  }
  const network = networkErrorCode(err);
  if (network) return fail(network);
  if (/Command timed out|Socket timeout/i.test(message)) return fail(ErrorCode.ConnectionTimeout);
  if (NOT_CONNECTED.test(message)) {
    const last = ctx.lastConnectionError();
    const why = last === undefined ? '' : ` (last connection error: ${describeError(last, ctx.secrets)})`;
    // The socket timeout (the command timeout) destroys the connection: the commands it failed
    // timed out, whatever the reconnect says afterwards.
    if (last instanceof Error && /Socket timeout/.test(last.message)) {
      return fail(ErrorCode.ConnectionTimeout, `command timed out${why}`);
    }
    return fail(
      ErrorCode.CacheConnectionFailed,
      `not connected to Redis${why}; the client keeps reconnecting in the background [${message}]`,
    );
  }
  return fail(ErrorCode.RedisError);
}

/**
 * ioredis' ReplyError keeps the failed command, arguments included, on `err.command`: for AUTH
 * or HELLO that is the password, which `console.error(err.cause)` would print. Mask it in place.
 */
function scrubCommand(err: unknown, secrets: readonly (string | undefined)[] = []): void {
  for (let e: any = err, depth = 0; e && typeof e === 'object' && depth < 5; e = e.cause, depth++) {
    const command = e.command;
    if (!command || !Array.isArray(command.args)) continue;
    const sensitive = /^(auth|hello|migrate|config)$/i.test(String(command.name ?? ''));
    command.args = command.args.map((a: unknown) =>
      sensitive || (typeof a === 'string' && secrets.some((s) => s && a.includes(s))) ? '***' : a,
    );
  }
}

/** A key for an error message: quoted, and cut short so a 1 KiB key does not flood a log. */
export function showKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}
