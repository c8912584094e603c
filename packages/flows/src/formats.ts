import { ErrorCode, IntegrationError } from '@fraiseql/core';
import { permanent } from './errors';
import { safeCopy } from './json';

type Loader = (name: string) => Promise<unknown>;
let loader: Loader = (name) => import(name);
const loaded = new Map<string, Promise<unknown>>();

/** Replaces how optional format libraries are imported (tests simulate a missing one). */
export function setFormatModuleLoader(fn?: Loader): void {
  loader = fn ?? ((name) => import(name));
  loaded.clear();
}

async function optional<T>(pkg: string, format: string): Promise<T> {
  let p = loaded.get(pkg);
  if (!p) {
    p = loader(pkg).catch((err) => {
      loaded.delete(pkg);
      throw new IntegrationError(
        ErrorCode.ProviderNotConfigured,
        `[flows] the ${format} format needs ${pkg}, which is not installed: run \`pnpm add ${pkg}\` (${(err as Error).message})`,
        { kind: 'configuration', field: 'format' },
      );
    });
    loaded.set(pkg, p);
  }
  const mod = (await p) as { default?: T } & T;
  return (mod.default && typeof mod.default === 'object' ? { ...mod.default, ...mod } : mod) as T;
}

interface Xml {
  XMLParser: new (o?: object) => { parse(s: string): unknown };
  XMLBuilder: new (o?: object) => { build(v: unknown): string };
  XMLValidator: { validate(s: string): true | { err: { msg: string; line?: number } } };
}
interface AvroType {
  toBuffer(v: unknown): Buffer;
  fromBuffer(b: Buffer): unknown;
}
interface Avsc {
  Type: { forSchema(schema: object): AvroType };
}

const avroTypes = new WeakMap<object, AvroType>();

async function avroType(schema: object | undefined): Promise<AvroType> {
  if (!schema) throw permanent('the avro format needs a schema');
  let t = avroTypes.get(schema);
  if (!t) {
    const avsc = await optional<Avsc>('avsc', 'avro');
    t = avsc.Type.forSchema(schema);
    avroTypes.set(schema, t);
  }
  return t;
}

const XML_OPTIONS = { ignoreAttributes: false, processEntities: false };

/** Text (xml, json) or base64 (avro) → value. Malformed input is permanent. */
export async function decode(format: string, body: unknown, schema?: object): Promise<unknown> {
  if (format === 'json') {
    if (typeof body !== 'string') return body;
    try {
      return JSON.parse(body);
    } catch (err) {
      throw permanent(`invalid JSON: ${(err as Error).message}`);
    }
  }
  if (format === 'xml') {
    const xml = await optional<Xml>('fast-xml-parser', 'xml');
    if (typeof body !== 'string') throw permanent('xml decode needs a string body');
    const valid = xml.XMLValidator.validate(body);
    if (valid !== true) throw permanent(`invalid XML: ${valid.err.msg} (line ${valid.err.line ?? '?'})`);
    try {
      return safeCopy(new xml.XMLParser(XML_OPTIONS).parse(body));
    } catch (err) {
      throw permanent(`invalid XML: ${(err as Error).message}`);
    }
  }
  const type = await avroType(schema);
  if (typeof body !== 'string') throw permanent('avro decode needs a base64 string body');
  try {
    return safeCopy(JSON.parse(JSON.stringify(type.fromBuffer(Buffer.from(body, 'base64')))));
  } catch (err) {
    throw permanent(`invalid avro: ${(err as Error).message}`);
  }
}

/** Value → text (json, xml) or base64 (avro). */
export async function encode(format: string, body: unknown, schema?: object): Promise<string> {
  if (format === 'json') return JSON.stringify(body);
  if (format === 'xml') {
    const xml = await optional<Xml>('fast-xml-parser', 'xml');
    return new xml.XMLBuilder(XML_OPTIONS).build(body);
  }
  const type = await avroType(schema);
  try {
    return type.toBuffer(body).toString('base64');
  } catch (err) {
    throw permanent(`avro encode: ${(err as Error).message}`);
  }
}
