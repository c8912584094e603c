import { badBody } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A message body as the flow sees it: UTF-8 JSON parsed; anything else is IN308 (never a crash). */
export function decodeBody(content: Buffer, tag: string, where: string): unknown {
  let text: string;
  try {
    text = utf8.decode(content);
  } catch (err) {
    throw badBody(tag, `${where}: body of ${content.length} bytes is not valid UTF-8`, err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const preview = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw badBody(tag, `${where}: body is not JSON (${JSON.stringify(preview)})`, err);
  }
}

/** Bytes pass as they are (`application/octet-stream`); everything else is sent as JSON. */
export function encodeBody(body: unknown, tag: string): { content: Buffer; contentType: string } {
  if (Buffer.isBuffer(body)) return { content: body, contentType: 'application/octet-stream' };
  if (body instanceof Uint8Array)
    return { content: Buffer.from(body), contentType: 'application/octet-stream' };
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    throw badBody(tag, 'publish: body cannot be serialized to JSON', err);
  }
  if (text === undefined) throw badBody(tag, `publish: body of type ${typeof body} cannot be sent`);
  return { content: Buffer.from(text, 'utf8'), contentType: 'application/json' };
}

/** AMQP headers as flow headers: strings kept, numbers/booleans stringified, the rest dropped. */
export function flowHeaders(
  headers: Record<string, unknown> | undefined,
  exchange: string,
  routingKey: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
  }
  out['amqp-exchange'] = exchange;
  out['amqp-routing-key'] = routingKey;
  return out;
}
