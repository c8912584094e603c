import { describeError, ErrorCode, IntegrationError, networkErrorCode } from '@fraiseql/core';

export const PROVIDER = 'connector-mqtt';

/**
 * CONNACK refusals (3.1.1 codes 1-5, MQTT 5 reason codes) that retrying will not fix: protocol,
 * client id, credentials, authorization.
 */
const CONFIG_CODES = new Set([1, 2, 4, 5, 0x84, 0x85, 0x86, 0x87, 0x8c]);

/**
 * Any client failure as an IntegrationError: network codes become IN5xx, a refused login or
 * client id IN002 (permanent), the rest IN502 (transient: reconnect and retry help).
 */
export function mqttError(err: unknown, tag: string, context: string, secrets: string[]): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const raw = (err as { code?: unknown } | null)?.code;
  const code =
    networkErrorCode(err) ??
    (typeof raw === 'number' && CONFIG_CODES.has(raw)
      ? ErrorCode.InvalidConfiguration
      : ErrorCode.ProviderUnavailable);
  return new IntegrationError(code, `[${tag}] ${context}: ${describeError(err, secrets)}`, {
    provider: PROVIDER,
    cause: err,
    ...(code === ErrorCode.InvalidConfiguration ? { kind: 'configuration' as const } : {}),
  });
}

/** A payload that is not UTF-8 JSON, or a body that cannot be sent (IN308). */
export function badPayload(tag: string, message: string, cause?: unknown): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidJobData, `[${tag}] ${message}`, {
    kind: 'invalid_input',
    provider: PROVIDER,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A bad argument of a call: a topic with wildcards, a QoS of 3 (IN002, invalid input). */
export function badArgument(tag: string, message: string, field: string): IntegrationError {
  return new IntegrationError(ErrorCode.InvalidConfiguration, `[${tag}] ${message}`, {
    kind: 'invalid_input',
    provider: PROVIDER,
    field,
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload as the flow sees it: UTF-8 JSON parsed, anything else IN308. */
export function decodePayload(payload: Buffer, tag: string, topic: string): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch (err) {
    throw badPayload(
      tag,
      `message on "${topic}": payload of ${payload.length} bytes is not valid UTF-8`,
      err,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const preview = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw badPayload(tag, `message on "${topic}": payload is not JSON (${JSON.stringify(preview)})`, err);
  }
}

/** Bytes are sent as they are; everything else as JSON. */
export function encodePayload(body: unknown, tag: string): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    throw badPayload(tag, 'publish: body cannot be serialized to JSON', err);
  }
  if (text === undefined) throw badPayload(tag, `publish: body of type ${typeof body} cannot be sent`);
  return Buffer.from(text, 'utf8');
}
