/**
 * A parser and evaluator of Algolia's `filters` syntax for the Algolia protocol double, written
 * from the API reference (https://www.algolia.com/doc/api-reference/api-parameters/filters and the
 * `filters` description of Algolia's OpenAPI spec), so that a provider whose translator emits
 * something Algolia would reject or read differently fails its tests:
 *
 * - facet filters `attr:value` / `attr:"quoted value"` (facet values match case-insensitively;
 *   inside quotes `\"` and `\\` are escapes), boolean filters `attr:true`, the whole-filter quoted
 *   form `"attr:value"`, numeric comparisons `attr <op> number` (`<`, `<=`, `=`, `!=`, `>=`, `>`,
 *   compared to three decimals), ranges `attr:lo TO hi` (inclusive), tag filters `_tags:value` or
 *   a bare `value` (case-sensitive);
 * - `NOT` negates one filter and is the complement over every record, so records that lack the
 *   attribute match `NOT attr:value`;
 * - the restrictions Algolia documents are errors (HTTP 400), not silently accepted: only
 *   filters of the same type may be combined with OR, no AND inside a parenthesised group, no
 *   parentheses around a conjunction, no NOT before a group, no AND and OR mixed without
 *   parentheses;
 * - an array attribute matches when any element matches; a dotted path reads nested objects and
 *   collects values through arrays of objects.
 *
 * Error messages follow the shape of Algolia's (`filters: Unexpected token … expected … at col N`).
 */

export type AlgoliaFilterAtom =
  | { type: 'facet'; attr: string; value: string; not: boolean }
  | { type: 'numeric'; attr: string; op: '<' | '<=' | '=' | '!=' | '>=' | '>'; value: number; not: boolean }
  | { type: 'range'; attr: string; lo: number; hi: number; not: boolean }
  | { type: 'tag'; value: string; not: boolean };

/** A parsed filter: a conjunction of OR groups. */
export type ParsedAlgoliaFilter = AlgoliaFilterAtom[][];

export class AlgoliaFilterSyntaxError extends Error {
  override readonly name = 'AlgoliaFilterSyntaxError';
}

type Tok =
  | { k: 'lp' | 'rp' | 'eof'; col: number }
  | { k: 'str'; v: string; col: number }
  | { k: 'word'; v: string; col: number }
  | { k: 'op'; v: ':' | '<' | '<=' | '=' | '!=' | '>=' | '>'; col: number };

const fail = (message: string): never => {
  throw new AlgoliaFilterSyntaxError(`filters: ${message}`);
};

function describe(t: Tok): string {
  switch (t.k) {
    case 'lp':
      return '(';
    case 'rp':
      return ')';
    case 'eof':
      return 'end of filter';
    case 'str':
      return `string(${t.v})`;
    case 'word':
      return /^-?\d+(\.\d+)?$/.test(t.v)
        ? `numeric(${t.v})`
        : ['AND', 'OR', 'NOT', 'TO'].includes(t.v)
          ? t.v
          : `string(${t.v})`;
    case 'op':
      return t.v;
  }
}

function tokenize(input: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    const col = i + 1;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(') {
      out.push({ k: 'lp', col });
      i++;
    } else if (ch === ')') {
      out.push({ k: 'rp', col });
      i++;
    } else if (ch === '"' || ch === "'") {
      let v = '';
      i++;
      let closed = false;
      while (i < input.length) {
        const c = input[i]!;
        if (c === '\\' && i + 1 < input.length) {
          v += input[i + 1];
          i += 2;
        } else if (c === ch) {
          closed = true;
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
      if (!closed) fail(`Not allowed incomplete string at col ${col}`);
      out.push({ k: 'str', v, col });
    } else if (ch === ':' || ch === '=') {
      out.push({ k: 'op', v: ch, col });
      i++;
    } else if (ch === '<' || ch === '>' || ch === '!') {
      if (input[i + 1] === '=') {
        out.push({ k: 'op', v: `${ch}=` as '<=' | '>=' | '!=', col });
        i += 2;
      } else if (ch === '!') {
        fail(`Unexpected token ! expected = at col ${col + 1}`);
      } else {
        out.push({ k: 'op', v: ch, col });
        i++;
      }
    } else {
      let v = '';
      while (i < input.length && !/[\s():="'<>!]/.test(input[i]!)) v += input[i++];
      out.push({ k: 'word', v, col });
    }
  }
  out.push({ k: 'eof', col: input.length + 1 });
  return out;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)$/;

class Parser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private next(): Tok {
    return this.toks[this.pos++]!;
  }
  private isWord(t: Tok, w: string): boolean {
    return t.k === 'word' && t.v === w;
  }
  private unexpected(t: Tok, expected: string): never {
    return fail(`Unexpected token ${describe(t)} expected ${expected} at col ${t.col}`);
  }

  parse(): ParsedAlgoliaFilter {
    if (this.peek().k === 'eof') return [];
    const terms: AlgoliaFilterAtom[][] = [this.term()];
    const ops: { op: string; col: number }[] = [];
    for (;;) {
      const t = this.peek();
      if (t.k === 'eof') break;
      if (!this.isWord(t, 'AND') && !this.isWord(t, 'OR')) this.unexpected(t, 'end of filter');
      this.next();
      ops.push({ op: (t as { v: string }).v, col: t.col });
      terms.push(this.term());
    }
    const hasOr = ops.some((o) => o.op === 'OR');
    const hasAnd = ops.some((o) => o.op === 'AND');
    if (hasOr && hasAnd) {
      const at = ops.find((o) => o.op === (ops[0]!.op === 'OR' ? 'AND' : 'OR'))!;
      fail(`Combining AND and OR requires parentheses around the OR group at col ${at.col}`);
    }
    if (hasOr) {
      if (terms.some((g) => g.length > 1)) fail('Nested OR groups are not supported');
      const group = terms.map((g) => g[0]!);
      checkSameType(group, 1);
      return [group];
    }
    return terms;
  }

  /** A filter, or a parenthesised OR group of filters. */
  private term(): AlgoliaFilterAtom[] {
    const t = this.peek();
    if (t.k !== 'lp') return [this.filter()];
    this.next();
    const group = [this.filter()];
    for (;;) {
      const n = this.peek();
      if (n.k === 'rp') {
        this.next();
        break;
      }
      if (this.isWord(n, 'OR')) {
        this.next();
        group.push(this.filter());
        continue;
      }
      if (this.isWord(n, 'AND')) {
        fail(`Unexpected token AND expected OR or ) at col ${n.col}: AND is not supported inside a group`);
      }
      this.unexpected(n, 'OR or )');
    }
    checkSameType(group, t.col);
    return group;
  }

  private filter(): AlgoliaFilterAtom {
    let not = false;
    if (this.isWord(this.peek(), 'NOT')) {
      this.next();
      not = true;
      const after = this.peek();
      if (after.k === 'lp') fail(`NOT cannot negate a group at col ${after.col}`);
      if (this.isWord(after, 'NOT')) this.unexpected(after, 'filter');
    }
    const head = this.next();
    if (head.k !== 'word' && head.k !== 'str') this.unexpected(head, 'filter');
    if (head.k === 'word' && ['AND', 'OR', 'TO'].includes(head.v)) this.unexpected(head, 'filter');
    const op = this.peek();
    if (op.k !== 'op') {
      // A quoted whole filter ("attr:value"), or a tag.
      if (head.k === 'str' && head.v.includes(':')) {
        const idx = head.v.indexOf(':');
        return { type: 'facet', attr: head.v.slice(0, idx), value: head.v.slice(idx + 1), not };
      }
      return { type: 'tag', value: head.v, not };
    }
    this.next();
    const attr = head.v;
    const valueTok = this.next();
    if (valueTok.k !== 'word' && valueTok.k !== 'str') this.unexpected(valueTok, 'value');
    const value = valueTok.v;
    if (op.v === ':') {
      if (this.isWord(this.peek(), 'TO')) {
        this.next();
        const hiTok = this.next();
        if (valueTok.k !== 'word' || !NUMBER.test(value)) this.unexpected(valueTok, 'numeric');
        if (hiTok.k !== 'word' || !NUMBER.test(hiTok.v)) this.unexpected(hiTok, 'numeric');
        return { type: 'range', attr, lo: Number(value), hi: Number((hiTok as { v: string }).v), not };
      }
      if (attr === '_tags') return { type: 'tag', value, not };
      return { type: 'facet', attr, value, not };
    }
    if (valueTok.k !== 'word' || !NUMBER.test(value)) this.unexpected(valueTok, 'numeric');
    return { type: 'numeric', attr, op: op.v, value: Number(value), not };
  }
}

function kindOf(a: AlgoliaFilterAtom): string {
  return a.type === 'range' ? 'numeric' : a.type;
}

function checkSameType(group: AlgoliaFilterAtom[], col: number): void {
  const kinds = new Set(group.map(kindOf));
  if (kinds.size > 1) {
    fail(
      `Filters of different types (${[...kinds].join(', ')}) cannot be combined with OR at col ${col}; only filters of the same type can be combined with OR`,
    );
  }
}

/** Parses an Algolia `filters` string; throws {@link AlgoliaFilterSyntaxError} with Algolia's message shape. */
export function parseAlgoliaFilters(input: string): ParsedAlgoliaFilter {
  return new Parser(tokenize(input)).parse();
}

/** Every value at a dotted path, through nested objects and arrays (Algolia flattens both). */
export function valuesAtPath(record: unknown, path: string): unknown[] {
  let current: unknown[] = [record];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const c of current) {
      const items = Array.isArray(c) ? c : [c];
      for (const item of items) {
        if (item && typeof item === 'object' && !Array.isArray(item) && part in item) {
          next.push((item as Record<string, unknown>)[part]);
        }
      }
    }
    current = next;
  }
  return current.flatMap((v) => (Array.isArray(v) ? v.flat(Infinity) : [v]));
}

const milli = (n: number) => Math.round(n * 1000);

function atomMatches(
  a: AlgoliaFilterAtom,
  record: Record<string, unknown>,
  facetable: ReadonlySet<string>,
): boolean {
  switch (a.type) {
    case 'tag': {
      const tags = record._tags;
      const list = Array.isArray(tags) ? tags : tags === undefined ? [] : [tags];
      return list.some((t) => t === a.value);
    }
    case 'facet': {
      if (!facetable.has(a.attr)) return false;
      const want = a.value.toLowerCase();
      return valuesAtPath(record, a.attr).some((v) => {
        if (typeof v === 'string') return v.toLowerCase() === want;
        if (typeof v === 'number')
          return String(v) === a.value || (NUMBER.test(a.value) && milli(v) === milli(Number(a.value)));
        if (typeof v === 'boolean') return String(v) === want;
        return false;
      });
    }
    case 'numeric':
    case 'range': {
      const nums = valuesAtPath(record, a.attr).flatMap((v) =>
        typeof v === 'number' ? [v] : typeof v === 'boolean' ? [v ? 1 : 0] : [],
      );
      if (a.type === 'range') return nums.some((n) => milli(n) >= milli(a.lo) && milli(n) <= milli(a.hi));
      const want = milli(a.value);
      return nums.some((n) => {
        const v = milli(n);
        switch (a.op) {
          case '<':
            return v < want;
          case '<=':
            return v <= want;
          case '=':
          case '!=':
            return v === want;
          case '>=':
            return v >= want;
          default:
            return v > want;
        }
      });
    }
  }
}

/**
 * Whether a record passes a parsed filter. `facetable` holds the attributes declared in
 * `attributesForFaceting`: a facet filter on any other attribute matches nothing. `!=` is read as
 * the complement of `=` (records without the attribute match), like `NOT`.
 */
export function matchesAlgoliaFilter(
  filter: ParsedAlgoliaFilter,
  record: Record<string, unknown>,
  facetable: ReadonlySet<string>,
): boolean {
  return filter.every((group) =>
    group.some((a) => {
      const hit = atomMatches(a, record, facetable);
      const negated = a.not !== (a.type === 'numeric' && a.op === '!=');
      return negated ? !hit : hit;
    }),
  );
}
