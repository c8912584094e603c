import {
  concreteField,
  type FakeCollection,
  FakeHttpError,
  isNumericType,
  isStringType,
  type StoredDoc,
  valueAt,
} from './fake-typesense-schema';

/**
 * The double's implementation of Typesense's `filter_by`, ported from the server's own parser
 * (`StringUtils::tokenize_filter_query`, `split_to_values`, `filter.cpp`'s shunting-yard and
 * `toFilter`) so that a filter our translator gets wrong is refused or evaluated the way the real
 * server would. Semantics kept from the server:
 * - `&&` and `||` have the same precedence and associate to the left;
 * - `:!=` (and `:!`) is the complement of the positive match over every document of the
 *   collection, so documents without the field are included;
 * - string matching is by tokens (lower-cased, accents and ASCII punctuation removed): `:=`
 *   compares a whole value (one array element), `:` wants every token somewhere in the field;
 * - inside `[...]` values are split on commas except inside backticks; a backtick directly after
 *   a backslash does not close the literal (and the backslash stays in the value).
 */

/** ASCII punctuation, which Typesense's tokenizer drops from words (whitespace splits them). */
export const ASCII_PUNCTUATION = /[!-/:-@[-`{-~\x7f]/g;

/** Typesense's default tokenizer: NFKD without combining marks, lower case, ASCII punctuation dropped. */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(ASCII_PUNCTUATION, ''))
    .filter((w) => w.length > 0);
}

function tokenizeFilterQuery(query: string): string[] {
  const tokens: string[] = [];
  const size = query.length;
  let i = 0;
  while (i < size) {
    let c = query[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (c === '&' || c === '|') {
      if (query[i + 1] !== c) throw new FakeHttpError(400, 'Could not parse the filter query.');
      tokens.push(c + c);
      i += 2;
    } else {
      let token = '';
      let inBacktick = false;
      do {
        token += c;
        c = query[++i]!;
        if (c === '`') inBacktick = !inBacktick;
      } while (
        i < size &&
        (inBacktick ||
          (c !== '(' &&
            c !== ')' &&
            !(c === '&' && query[i + 1] === '&') &&
            !(c === '|' && query[i + 1] === '|')))
      );
      tokens.push(token.trim());
    }
  }
  return tokens;
}

export function splitToValues(valsStr: string): string[] {
  const values: string[] = [];
  let insideTick = false;
  let buffer = '';
  for (let i = 0; i < valsStr.length; i++) {
    const c = valsStr[i]!;
    const escapedTick = i !== 0 && c === '`' && valsStr[i - 1] === '\\';
    if (c === '`') {
      if (escapedTick) buffer += c;
      else if (insideTick && buffer !== '') insideTick = false;
      else insideTick = true;
    } else if (c === ',' && !insideTick) {
      values.push(buffer.trim());
      buffer = '';
    } else {
      buffer += c;
    }
  }
  if (buffer !== '') values.push(buffer.trim());
  return values;
}

type Comparator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '..' | 'contains';

interface Leaf {
  field: string;
  kind: 'id' | 'number' | 'bool' | 'string';
  type: string;
  /** Comparator per value; a range takes two consecutive values. */
  comparators: Comparator[];
  values: string[];
  notEquals: boolean;
}

export type FilterNode = { op: '&&' | '||'; left: FilterNode; right: FilterNode } | { leaf: Leaf };

const INT = /^-?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function numComparator(field: string, raw: string): [Comparator, string] {
  const s = raw.trim();
  if (INT.test(s) || FLOAT.test(s)) return ['=', s];
  for (const op of ['<=', '>=', '!=', '<', '>'] as const) {
    if (s.startsWith(op)) return [op, s.slice(op.length).trim()];
  }
  if (s.includes('..')) return ['..', s];
  throw new FakeHttpError(
    400,
    `Error with filter field \`${field}\`: Numerical field has an invalid comparator.`,
  );
}

function checkNumber(field: string, type: string, raw: string): void {
  const base = type.replace('[]', '');
  if (base === 'int32' || base === 'int64') {
    if (!INT.test(raw)) throw new FakeHttpError(400, `Error with filter field \`${field}\`: Not an ${base}.`);
    if (base === 'int32' && Math.abs(Number(raw)) >= 2 ** 31) {
      throw new FakeHttpError(
        400,
        `Error with filter field \`${field}\`: \`${raw}\` exceeds the range of an int32.`,
      );
    }
  } else if (!FLOAT.test(raw)) {
    throw new FakeHttpError(400, `Error with filter field \`${field}\`: Not a float.`);
  }
}

function pushNumeric(leaf: Leaf, raw: string): void {
  const [cmp, value] = numComparator(leaf.field, raw);
  if (cmp === '..') {
    const bounds = value.split('..');
    if (bounds.length !== 2) {
      throw new FakeHttpError(
        400,
        `Error with filter field \`${leaf.field}\`: Numerical field has an invalid comparator.`,
      );
    }
    for (const b of bounds) {
      checkNumber(leaf.field, leaf.type, b.trim());
      leaf.values.push(b.trim());
      leaf.comparators.push('..');
    }
    return;
  }
  checkNumber(leaf.field, leaf.type, value);
  leaf.values.push(value);
  leaf.comparators.push(cmp);
}

function toLeaf(c: FakeCollection, expression: string): Leaf {
  const colon = expression.indexOf(':');
  if (colon === -1) throw new FakeHttpError(400, 'Could not parse the filter query.');
  const field = expression.slice(0, colon).trim();
  let raw = expression.slice(colon + 1).trim();
  if (field === 'id') {
    const leaf: Leaf = { field, kind: 'id', type: 'string', comparators: [], values: [], notEquals: false };
    if (raw.startsWith('!=')) {
      leaf.notEquals = true;
      raw = raw.slice(2).trim();
    } else if (raw.startsWith('=')) {
      raw = raw.slice(1).trim();
    }
    if (raw === '')
      throw new FakeHttpError(400, 'Error with filter field `id`: Filter value cannot be empty.');
    leaf.values =
      raw.startsWith('[') && raw.endsWith(']')
        ? splitToValues(raw.slice(1, -1))
        : splitToValues(raw).slice(0, 1);
    leaf.comparators = leaf.values.map(() => '=');
    return leaf;
  }
  const f = concreteField(c, field);
  if (!f?.index)
    throw new FakeHttpError(404, `Could not find a filter field named \`${field}\` in the schema.`);
  const leaf: Leaf = { field, kind: 'string', type: f.type, comparators: [], values: [], notEquals: false };
  if (!isStringType(f.type) && raw.startsWith('=')) raw = raw.slice(1).trim();
  if (isNumericType(f.type)) {
    leaf.kind = 'number';
    if (raw.startsWith('!') && !raw.startsWith('!=')) {
      leaf.notEquals = true;
      raw = raw.slice(1).trim();
    }
    if (raw.startsWith('[') && raw.endsWith(']')) {
      for (const part of raw.slice(1, -1).split(',')) pushNumeric(leaf, part);
    } else {
      const [cmp, value] = numComparator(field, raw);
      if (cmp === '!=' && value.startsWith('[') && value.endsWith(']')) {
        leaf.notEquals = true;
        for (const part of value.slice(1, -1).split(',')) pushNumeric(leaf, part);
      } else {
        pushNumeric(leaf, raw);
      }
    }
    return leaf;
  }
  if (f.type === 'bool' || f.type === 'bool[]') {
    leaf.kind = 'bool';
    if (raw.startsWith('!=')) {
      leaf.notEquals = true;
      raw = raw.slice(2).trim();
    } else if (raw.startsWith('=')) {
      raw = raw.slice(1).trim();
    } else if (raw.startsWith('!')) {
      leaf.notEquals = true;
      raw = raw.slice(1).trim();
    }
    if (raw === '')
      throw new FakeHttpError(400, `Error with filter field \`${field}\`: Filter value cannot be empty.`);
    const values =
      raw.startsWith('[') && raw.endsWith(']')
        ? raw
            .slice(1, -1)
            .split(',')
            .map((v) => v.trim())
        : [raw];
    for (const v of values) {
      if (v !== 'true' && v !== 'false') {
        throw new FakeHttpError(400, `Value of filter field \`${field}\` must be \`true\` or \`false\`.`);
      }
    }
    leaf.values = values;
    leaf.comparators = values.map(() => '=');
    return leaf;
  }
  if (!isStringType(f.type)) {
    throw new FakeHttpError(
      400,
      `Error with filter field \`${field}\`: Unidentified field data type, see docs for supported data types.`,
    );
  }
  let cmp: Comparator = 'contains';
  let at = 0;
  if (raw.startsWith('=')) {
    cmp = '=';
    at = 1;
  } else if (raw.length >= 2 && raw.startsWith('!')) {
    if (raw[1] === '=') {
      cmp = '!=';
      at = 2;
    } else {
      at = 1;
    }
    leaf.notEquals = true;
  }
  while (raw[at] === ' ') at++;
  if (at >= raw.length)
    throw new FakeHttpError(400, `Error with filter field \`${field}\`: Filter value cannot be empty.`);
  leaf.values = raw[at] === '[' && raw.endsWith(']') ? splitToValues(raw.slice(at + 1, -1)) : [raw.slice(at)];
  leaf.comparators = leaf.values.map(() => cmp);
  return leaf;
}

/** Parses `filter_by` for a collection; parse errors are 400, unknown fields 404, like the server. */
export function parseFilter(c: FakeCollection, query: string): FilterNode {
  const tokens = tokenizeFilterQuery(query);
  // Shunting-yard: one precedence level, left-associative.
  const postfix: string[] = [];
  const ops: string[] = [];
  for (const t of tokens) {
    if (t === '&&' || t === '||') {
      while (ops.length > 0 && ops[ops.length - 1] !== '(') postfix.push(ops.pop()!);
      ops.push(t);
    } else if (t === '(') {
      ops.push(t);
    } else if (t === ')') {
      while (ops.length > 0 && ops[ops.length - 1] !== '(') postfix.push(ops.pop()!);
      if (ops.pop() !== '(')
        throw new FakeHttpError(400, 'Could not parse the filter query: unbalanced parentheses.');
    } else {
      postfix.push(t);
    }
  }
  while (ops.length > 0) {
    const op = ops.pop()!;
    if (op === '(') throw new FakeHttpError(400, 'Could not parse the filter query: unbalanced parentheses.');
    postfix.push(op);
  }
  const stack: FilterNode[] = [];
  for (const t of postfix) {
    if (t === '&&' || t === '||') {
      const right = stack.pop();
      const left = stack.pop();
      if (!left || !right) {
        throw new FakeHttpError(400, `Could not parse the filter query: unbalanced \`${t}\` operands.`);
      }
      stack.push({ op: t, left, right });
    } else {
      stack.push({ leaf: toLeaf(c, t) });
    }
  }
  if (stack.length !== 1) throw new FakeHttpError(400, 'Could not parse the filter query.');
  return stack[0]!;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function sameTokens(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function leafMatches(c: FakeCollection, leaf: Leaf, id: string, doc: Record<string, unknown>): boolean {
  if (leaf.kind === 'id') return leaf.values.includes('*') || leaf.values.includes(id);
  const present = asArray(valueAt(c, doc, leaf.field));
  if (leaf.kind === 'bool') return present.some((v) => leaf.values.includes(String(v)));
  if (leaf.kind === 'number') {
    const nums = present.filter((v): v is number => typeof v === 'number');
    for (let i = 0; i < leaf.values.length; i++) {
      const cmp = leaf.comparators[i]!;
      const x = Number(leaf.values[i]);
      if (cmp === '..') {
        const hi = Number(leaf.values[++i]);
        if (nums.some((n) => n >= x && n <= hi)) return true;
        continue;
      }
      const hit = nums.some((n) =>
        cmp === '>' ? n > x : cmp === '>=' ? n >= x : cmp === '<' ? n < x : cmp === '<=' ? n <= x : n === x,
      );
      // A single `!=` value is the complement of `=`; the complement is taken by the caller.
      if (hit) return true;
    }
    return false;
  }
  const elements = present.map((v) => tokenize(String(v)));
  return leaf.values.some((value, i) => {
    const wanted = tokenize(value);
    if (wanted.length === 0) return false;
    if (leaf.comparators[i] === 'contains') {
      const all = new Set(elements.flat());
      return wanted.every((t) => all.has(t));
    }
    return elements.some((el) => sameTokens(el, wanted));
  });
}

export interface EvaluateOptions {
  /**
   * `true` (Typesense's behaviour): `:!=` matches documents that lack the field. `false` emulates
   * an engine whose not-equals only considers documents holding the field.
   */
  notEqualsMatchesMissing: boolean;
}

/** The documents (by id) a parsed filter selects. */
export function evaluateFilter(
  c: FakeCollection,
  node: FilterNode,
  docs: [string, StoredDoc][],
  opts: EvaluateOptions,
): Set<string> {
  if ('op' in node) {
    const left = evaluateFilter(c, node.left, docs, opts);
    const right = evaluateFilter(c, node.right, docs, opts);
    if (node.op === '&&') return new Set([...left].filter((id) => right.has(id)));
    return new Set([...left, ...right]);
  }
  const { leaf } = node;
  const negate = leaf.notEquals || leaf.comparators.every((cmp) => cmp === '!=');
  const out = new Set<string>();
  for (const [id, { doc }] of docs) {
    const positive = leafMatches(c, leaf, id, doc);
    if (!negate) {
      if (positive) out.add(id);
      continue;
    }
    if (positive) continue;
    if (!opts.notEqualsMatchesMissing && leaf.kind !== 'id') {
      const v = valueAt(c, doc, leaf.field);
      if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    }
    out.add(id);
  }
  return out;
}
