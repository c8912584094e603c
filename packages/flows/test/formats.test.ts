import { afterEach, describe, expect, it } from 'vitest';
import { type Connector, createFlowEngine, decode, encode, setFormatModuleLoader } from '../src/index';
import { rejects } from './helpers';

const avroSchema = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'total', type: 'double' },
    { name: 'items', type: { type: 'array', items: 'string' } },
  ],
};

describe('formats', () => {
  afterEach(() => setFormatModuleLoader());

  it('xml round trip', async () => {
    const order = { order: { id: 'o1', total: 12.5, item: ['a', 'b'] } };
    const xml = await encode('xml', order);
    expect(xml).toContain('<order><id>o1</id>');
    expect(await decode('xml', xml)).toEqual(order);
  });

  it('avro round trip with the schema (base64 on the wire)', async () => {
    const order = { id: 'o1', total: 1200.5, items: ['a', 'b'] };
    const b64 = await encode('avro', order, avroSchema);
    expect(typeof b64).toBe('string');
    expect(await decode('avro', b64, avroSchema)).toEqual(order);
  });

  it('a flow decodes xml, transforms and encodes avro', async () => {
    const out: unknown[] = [];
    const sink: Connector = {
      name: 'sink',
      type: 'memory',
      test: async () => ({ ok: true, latencyMs: 0 }),
      close: async () => undefined,
      publish: async (_t, body) => void out.push(body),
    };
    const engine = await createFlowEngine({ connectors: [sink] });
    await engine.createFlow({
      name: 'fmt',
      source: { type: 'http' },
      steps: [
        { type: 'decode', name: 'in', format: 'xml' },
        {
          type: 'transform',
          name: 't',
          mapping: { id: '$.order.id', total: '$.order.total', items: '$.order.item' },
        },
        { type: 'encode', name: 'out', format: 'avro', schema: avroSchema },
        { type: 'deliver', name: 'send', to: { connector: 'sink', topic: 'orders' } },
      ],
    });
    await engine.startFlow('fmt');
    await engine.post('fmt', '<order><id>o9</id><total>5</total><item>x</item><item>y</item></order>');
    expect(await decode('avro', out[0], avroSchema)).toEqual({ id: 'o9', total: 5, items: ['x', 'y'] });
    // Malformed input is permanent → DLQ at the decode step.
    await engine.post('fmt', '<order><id>');
    expect(engine.deadLetters('fmt')[0]).toMatchObject({ step: 'in' });
    await engine.close();
  });

  it('json always; a missing optional library is IN004 naming the pnpm add', async () => {
    expect(await decode('json', '{"a":1}')).toEqual({ a: 1 });
    expect(await encode('json', { a: 1 })).toBe('{"a":1}');
    setFormatModuleLoader(async (name) => {
      throw new Error(`Cannot find package '${name}'`);
    });
    await rejects(decode('xml', '<a/>'), 'IN004', /pnpm add fast-xml-parser/);
    await rejects(encode('avro', {}, { ...avroSchema }), 'IN004', /pnpm add avsc/);
  });
});
