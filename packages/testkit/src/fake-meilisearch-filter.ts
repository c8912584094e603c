/**
 * Meilisearch's filter expression language, parsed the way the engine parses it (the grammar of
 * `filter-parser` in the Meilisearch repository) and evaluated with the engine's documented
 * semantics — not with `@fraiseql/core`'s portable evaluator. The protocol double uses it so that a
 * translator bug (bad quoting, wrong precedence, `EXISTS` vs `IS NULL`) makes a test fail exactly
 * as it would against a real server.
 *
 * Grammar (keywords are case-sensitive):
 * ```text
 * filter     = expression EOF
 * expression = or
 * or         = and ("OR" and)*
 * and        = not ("AND" not)*
 * not        = ("NOT" not) | primary
 * primary    = "(" expression ")" | in | not_in | condition | is | exists | not_exists | to
 * in         = value "IN" "[" value_list "]"       not_in = value "NOT" "IN" "[" value_list "]"
 * condition  = value ("=" | "!=" | ">" | ">=" | "<" | "<=") value
 * is         = value "IS" ["NOT"] ("NULL" | "EMPTY")
 * exists     = value "EXISTS"                       not_exists = value "NOT" "EXISTS"
 * to         = value value "TO" value
 * value      = word | 'single quoted' | "double quoted"
 * word       = (alphanumeric | _ | - | .)+  except keywords
 * ```
 * Semantics (https://www.meilisearch.com/docs/learn/filtering_and_sorting/filter_expression_reference):
 * string equality is case-insensitive; a value is compared as a string and, when it parses as a
 * number, as a number; `!=` and `NOT` select every document the positive form does not (documents
 * missing the field included); comparisons are numeric for numeric values and lexicographic
 * otherwise; `EXISTS` counts `null` and empty values as existing; `IS NULL` / `IS EMPTY` need the
 * field to be present.
 */

export {
  attributeCovered,
  evaluateMeiliFilter,
  lookupField,
  normalizeFacet,
  parseEngineNumber,
} from './fake-meilisearch-filter-eval';

export type MeiliFilterNode =
  | { kind: 'and'; items: MeiliFilterNode[] }
  | { kind: 'or'; items: MeiliFilterNode[] }
  | { kind: 'not'; item: MeiliFilterNode }
  | { kind: 'cmp'; field: string; op: '=' | '!=' | '>' | '>=' | '<' | '<='; value: string }
  | { kind: 'to'; field: string; from: string; to: string }
  | { kind: 'in'; field: string; values: string[] }
  | { kind: 'exists'; field: string }
  | { kind: 'null'; field: string }
  | { kind: 'empty'; field: string };

/** A filter the engine refuses; `message` is in the engine's words (`<what>\n<start>:<end> <input>`). */
export class MeiliFilterError extends Error {
  override readonly name = 'MeiliFilterError';
}

const KEYWORDS = new Set([
  'AND',
  'OR',
  'IN',
  'NOT',
  'TO',
  'EXISTS',
  'IS',
  'NULL',
  'EMPTY',
  'CONTAINS',
  'STARTS',
  'WITH',
  '_geoRadius',
  '_geoBoundingBox',
]);
const MAX_DEPTH = 200;
const isValueChar = (c: string | undefined): boolean => c !== undefined && /^[\p{L}\p{N}_.-]$/u.test(c);
const isSpace = (c: string | undefined): boolean => c !== undefined && /^\s$/u.test(c);

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '0': '\0',
};

/**
 * The second unescaping pass Meilisearch (≥ 1.4) runs on every value (the `unescaper` crate):
 * `\\`, `\"`, `\n`, `\t`, `\u{…}`, `\uXXXX`, `\xHH`…; any other escape is a malformed value.
 */
function unescapeSequences(raw: string): string | null {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    if (n === undefined) return null;
    if (n in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[n];
    } else if (n === 'u' && raw[i + 1] === '{') {
      const end = raw.indexOf('}', i + 2);
      const code = end === -1 ? Number.NaN : Number.parseInt(raw.slice(i + 2, end), 16);
      if (!Number.isInteger(code) || code > 0x10ffff) return null;
      out += String.fromCodePoint(code);
      i = end;
    } else if (n === 'u' || n === 'x') {
      const len = n === 'u' ? 4 : 2;
      const hex = raw.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return null;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += len;
    } else {
      return null;
    }
  }
  return out;
}

class Parser {
  pos = 0;
  constructor(readonly input: string) {}

  fail(what: string, start = this.pos, end = Math.max(start, this.pos)): never {
    throw new MeiliFilterError(`${what}\n${start + 1}:${end + 1} ${this.input}`);
  }

  skipSpace(): void {
    while (isSpace(this.input[this.pos])) this.pos++;
  }

  /** The run of word characters at the cursor (after spaces), without consuming it. */
  peekWord(): string {
    let i = this.pos;
    while (isSpace(this.input[i])) i++;
    let j = i;
    while (isValueChar(this.input[j])) j++;
    return this.input.slice(i, j);
  }

  /** Consumes keyword `kw` (surrounded by optional spaces) when it is the next word. */
  keyword(kw: string): boolean {
    if (this.peekWord() !== kw) return false;
    this.skipSpace();
    this.pos += kw.length;
    this.skipSpace();
    return true;
  }

  expression(depth: number): MeiliFilterNode {
    if (depth > MAX_DEPTH)
      this.fail('The filter exceeded the maximum depth limit. Try rewriting the filter.');
    const items = [this.and(depth + 1)];
    while (this.keyword('OR')) items.push(this.and(depth + 1));
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  and(depth: number): MeiliFilterNode {
    const items = [this.not(depth + 1)];
    while (this.keyword('AND')) items.push(this.not(depth + 1));
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  not(depth: number): MeiliFilterNode {
    if (depth > MAX_DEPTH)
      this.fail('The filter exceeded the maximum depth limit. Try rewriting the filter.');
    if (this.keyword('NOT')) {
      const inner = this.not(depth + 1);
      // `NOT NOT x` is `x`, as in the engine.
      return inner.kind === 'not' ? inner.item : { kind: 'not', item: inner };
    }
    return this.primary(depth + 1);
  }

  primary(depth: number): MeiliFilterNode {
    this.skipSpace();
    const start = this.pos;
    if (this.input[this.pos] === '(') {
      this.pos++;
      const inner = this.expression(depth + 1);
      this.skipSpace();
      if (this.input[this.pos] !== ')')
        this.fail('Expression `(` is missing the closing delimiter `)`.', start);
      this.pos++;
      this.skipSpace();
      return inner;
    }
    if (this.pos >= this.input.length) this.fail('Was expecting a value but instead got nothing.', start);
    if (/^_geo(Radius|BoundingBox|Point|Distance)?\s*\(/.test(this.input.slice(this.pos))) {
      this.fail(
        'The `_geo`, `_geoRadius`, `_geoBoundingBox` and `_geoPoint` filters are not supported by this server.',
        start,
        this.input.length,
      );
    }
    const field = this.value('Was expecting a value but instead got');
    return this.operation(field, start);
  }

  operation(field: string, start: number): MeiliFilterNode {
    const rest = this.input.slice(this.pos);
    for (const op of ['!=', '>=', '<=', '=', '>', '<'] as const) {
      if (rest.startsWith(op)) {
        this.pos += op.length;
        const value = this.value('Was expecting a value but instead got');
        return { kind: 'cmp', field, op, value };
      }
    }
    if (this.keyword('IN')) return { kind: 'in', field, values: this.list() };
    if (this.keyword('EXISTS')) return { kind: 'exists', field };
    if (this.keyword('IS')) {
      const negated = this.keyword('NOT');
      let node: MeiliFilterNode | undefined;
      if (this.keyword('NULL')) node = { kind: 'null', field };
      else if (this.keyword('EMPTY')) node = { kind: 'empty', field };
      else this.fail('Was expecting `NULL` or `EMPTY` after `IS`.', start);
      return negated ? { kind: 'not', item: node } : node;
    }
    if (this.peekWord() === 'NOT') {
      const save = this.pos;
      this.keyword('NOT');
      if (this.keyword('IN')) return { kind: 'not', item: { kind: 'in', field, values: this.list() } };
      if (this.keyword('EXISTS')) return { kind: 'not', item: { kind: 'exists', field } };
      this.pos = save;
    }
    const next = this.peekWord();
    if (next === 'CONTAINS' || next === 'STARTS') {
      this.fail(
        'Using `CONTAINS` or `STARTS WITH` in a filter requires enabling the `contains filter` experimental feature. See https://github.com/orgs/meilisearch/discussions/763',
        start,
        this.input.length,
      );
    }
    // `field from TO to`
    const save = this.pos;
    if (this.pos < this.input.length && !KEYWORDS.has(next)) {
      try {
        const from = this.value('');
        if (this.keyword('TO')) {
          const to = this.value('Was expecting a value but instead got');
          return { kind: 'to', field, from, to };
        }
      } catch (err) {
        if (!(err instanceof MeiliFilterError)) throw err;
      }
    }
    this.pos = save;
    this.fail(
      'Was expecting an operation `=`, `!=`, `>=`, `>`, `<=`, `<`, `IN`, `NOT IN`, `TO`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`, `IS NOT EMPTY`, `CONTAINS`, `NOT CONTAINS`, `STARTS WITH`, `NOT STARTS WITH`, `_geoRadius`, or `_geoBoundingBox` at `' +
        this.input.slice(start) +
        '`.',
      start,
      this.input.length,
    );
  }

  list(): string[] {
    if (this.input[this.pos] !== '[') this.fail('Expected `[` after `IN` keyword.');
    this.pos++;
    this.skipSpace();
    const values: string[] = [];
    while (this.input[this.pos] !== ']') {
      if (this.pos >= this.input.length)
        this.fail('Expected matching `]` after the list of field names given to `IN[`');
      values.push(this.value('Expected only comma-separated field names inside `IN[..]` but instead found'));
      this.skipSpace();
      if (this.input[this.pos] === ',') {
        this.pos++;
        this.skipSpace();
      } else if (this.input[this.pos] !== ']') {
        this.fail('Expected matching `]` after the list of field names given to `IN[`');
      }
    }
    this.pos++;
    this.skipSpace();
    return values;
  }

  /** `value = WS* (word | 'quoted' | "quoted") WS*`, unescaped as the engine does. */
  value(expected: string): string {
    this.skipSpace();
    const start = this.pos;
    const c = this.input[this.pos];
    let raw: string;
    if (c === '"' || c === "'") {
      raw = this.quoted(c);
    } else {
      let j = this.pos;
      while (isValueChar(this.input[j])) j++;
      raw = this.input.slice(this.pos, j);
      if (raw.length === 0) {
        let k = this.pos;
        while (k < this.input.length && !/^[\s()=<>!]$/u.test(this.input[k]!)) k++;
        const got = this.input.slice(this.pos, k);
        this.fail(got ? `${expected} \`${got}\`.` : `${expected} nothing.`, start, k);
      }
      if (KEYWORDS.has(raw)) {
        this.fail(
          `${expected} a reserved keyword. To use \`${raw}\` as a field name or a value, surround it by quotes.`,
          start,
          j,
        );
      }
      this.pos = j;
    }
    const value = unescapeSequences(raw);
    if (value === null) this.fail(`Malformed value: \`${raw}\``, start);
    this.skipSpace();
    return value;
  }

  /** Meilisearch's `quoted_by`: `\x` pairs are skipped, then `\<quote>` becomes `<quote>`. */
  quoted(quote: string): string {
    const start = this.pos;
    let i = this.pos + 1;
    let escaped = false;
    while (i < this.input.length && this.input[i] !== quote) {
      if (this.input[i] === '\\') {
        if (i + 1 >= this.input.length)
          this.fail(`Malformed value: \`${this.input.slice(start + 1)}\``, start);
        escaped ||= this.input[i + 1] === quote;
        i += 2;
      } else {
        i += 1;
      }
    }
    if (i >= this.input.length)
      this.fail(
        `Expression \`${this.input.slice(start)}\` is missing the following closing delimiter: \`${quote}\`.`,
        start,
        i,
      );
    let raw = this.input.slice(start + 1, i);
    if (escaped) raw = raw.split(`\\${quote}`).join(quote);
    this.pos = i + 1;
    return raw;
  }
}

/** Parses one filter string; `null` for an empty (all-whitespace) filter. */
export function parseMeiliFilterString(input: string): MeiliFilterNode | null {
  if (input.trim() === '') return null;
  const p = new Parser(input);
  const node = p.expression(0);
  p.skipSpace();
  if (p.pos < input.length) {
    const word = p.peekWord();
    if (word === ')' || input[p.pos] === ')')
      p.fail('Found unexpected characters at the end of the filter: `)`.', p.pos, input.length);
    p.fail(
      `Found unexpected characters at the end of the filter: \`${input.slice(p.pos)}\`. You probably forgot an \`OR\` or an \`AND\` rule.`,
      p.pos,
      input.length,
    );
  }
  return node;
}

/**
 * The `filter` search parameter: a string, or an array whose elements are ANDed — each a string or
 * an array of strings ORed together (at most two levels, as in the engine).
 */
export function parseMeiliFilterParam(filter: unknown): MeiliFilterNode | null {
  if (filter === null || filter === undefined) return null;
  if (typeof filter === 'string') return parseMeiliFilterString(filter);
  if (!Array.isArray(filter)) {
    throw new MeiliFilterError(
      'Invalid syntax for the filter parameter: `expected String, Array, found: ' + typeof filter + '`.',
    );
  }
  const ands: MeiliFilterNode[] = [];
  for (const el of filter) {
    if (typeof el === 'string') {
      const n = parseMeiliFilterString(el);
      if (n) ands.push(n);
    } else if (Array.isArray(el)) {
      const ors: MeiliFilterNode[] = [];
      for (const inner of el) {
        if (typeof inner !== 'string') {
          throw new MeiliFilterError(
            'Invalid syntax for the filter parameter: `expected String, found: ' +
              JSON.stringify(inner) +
              '`.',
          );
        }
        const n = parseMeiliFilterString(inner);
        if (n) ors.push(n);
      }
      if (ors.length === 1) ands.push(ors[0]!);
      else if (ors.length > 1) ands.push({ kind: 'or', items: ors });
    } else {
      throw new MeiliFilterError(
        'Invalid syntax for the filter parameter: `expected String, Array, found: ' +
          JSON.stringify(el) +
          '`.',
      );
    }
  }
  if (ands.length === 0) return null;
  return ands.length === 1 ? ands[0]! : { kind: 'and', items: ands };
}

/** Every attribute a filter mentions. */
export function meiliFilterFields(node: MeiliFilterNode | null): string[] {
  const out = new Set<string>();
  const walk = (n: MeiliFilterNode): void => {
    if (n.kind === 'and' || n.kind === 'or') n.items.forEach(walk);
    else if (n.kind === 'not') walk(n.item);
    else out.add(n.field);
  };
  if (node) walk(node);
  return [...out];
}
