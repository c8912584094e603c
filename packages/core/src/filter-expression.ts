import { ErrorCode, IntegrationError } from './errors';
import type { Clause, Filter, FilterScalar, Leaf } from './filter';
import { isValidFieldName, normalizeFilter } from './filter';

/** CNF blow-up guard: `(a and b) or (c and d) or …` distributes into a product of clauses. */
const MAX_CLAUSES = 64;
const MAX_EXPRESSION_LENGTH = 4096;

type Token =
  | { t: 'ident'; v: string }
  | { t: 'op'; v: string }
  | { t: 'value'; v: FilterScalar | null }
  | { t: 'punct'; v: '(' | ')' | '[' | ']' | ',' };

type Node = { and: Node[] } | { or: Node[] } | Leaf;

function problem(expr: string, message: string): IntegrationError {
  return IntegrationError.invalidInput(
    ErrorCode.InvalidConfiguration,
    `Invalid condition "${expr.length > 80 ? `${expr.slice(0, 77)}...` : expr}": ${message}`,
    'condition',
  );
}

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ('()[],'.includes(c)) {
      tokens.push({ t: 'punct', v: c as '(' });
      i++;
      continue;
    }
    const two = expr.slice(i, i + 2);
    if (['==', '!=', '>=', '<=', '&&', '||'].includes(two)) {
      tokens.push(
        two === '&&'
          ? { t: 'ident', v: 'and' }
          : two === '||'
            ? { t: 'ident', v: 'or' }
            : { t: 'op', v: two },
      );
      i += 2;
      continue;
    }
    if ('=<>'.includes(c)) {
      tokens.push({ t: 'op', v: c === '=' ? '==' : c });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let out = '';
      let j = i + 1;
      for (; j < expr.length && expr[j] !== c; j++) {
        if (expr[j] === '\\' && j + 1 < expr.length) j++;
        out += expr[j];
      }
      if (j >= expr.length) throw problem(expr, `unterminated string starting at ${i + 1}`);
      tokens.push({ t: 'value', v: out });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(expr.slice(i));
    if (num) {
      tokens.push({ t: 'value', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(expr.slice(i));
    if (!word) throw problem(expr, `unexpected "${c}" at ${i + 1}`);
    const lower = word[0].toLowerCase();
    if (lower === 'true' || lower === 'false') tokens.push({ t: 'value', v: lower === 'true' });
    else if (lower === 'null') tokens.push({ t: 'value', v: null });
    else tokens.push({ t: 'ident', v: word[0] });
    i += word[0].length;
  }
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'exists']);

class Parser {
  private pos = 0;
  constructor(
    private readonly expr: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Node {
    const node = this.or();
    if (this.pos < this.tokens.length) throw problem(this.expr, `unexpected "${String(this.peek()?.v)}"`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private keyword(word: string): boolean {
    const tok = this.peek();
    if (tok?.t === 'ident' && tok.v.toLowerCase() === word) {
      this.pos++;
      return true;
    }
    return false;
  }
  private punct(p: string): boolean {
    const tok = this.peek();
    if (tok?.t === 'punct' && tok.v === p) {
      this.pos++;
      return true;
    }
    return false;
  }

  private or(): Node {
    const parts = [this.and()];
    while (this.keyword('or')) parts.push(this.and());
    return parts.length === 1 ? (parts[0] as Node) : { or: parts };
  }
  private and(): Node {
    const parts = [this.primary()];
    while (this.keyword('and')) parts.push(this.primary());
    return parts.length === 1 ? (parts[0] as Node) : { and: parts };
  }
  private primary(): Node {
    if (this.punct('(')) {
      const inner = this.or();
      if (!this.punct(')')) throw problem(this.expr, 'missing ")"');
      return inner;
    }
    return this.comparison();
  }
  private value(): FilterScalar | null {
    const tok = this.tokens[this.pos++];
    if (tok?.t !== 'value') throw problem(this.expr, `expected a value, got "${String(tok?.v ?? 'end')}"`);
    return tok.v;
  }
  private list(): FilterScalar[] {
    if (!this.punct('[') && !this.punct('(')) throw problem(this.expr, 'expected a list after "in"');
    const out: FilterScalar[] = [];
    for (;;) {
      const v = this.value();
      if (v === null) throw problem(this.expr, 'null is not allowed in a list');
      out.push(v);
      if (this.punct(',')) continue;
      if (this.punct(']') || this.punct(')')) return out;
      throw problem(this.expr, 'expected "," or "]" in a list');
    }
  }
  private comparison(): Node {
    const tok = this.tokens[this.pos++];
    if (tok?.t !== 'ident' || KEYWORDS.has(tok.v.toLowerCase()))
      throw problem(this.expr, `expected a field name, got "${String(tok?.v ?? 'end')}"`);
    const field = tok.v;
    if (!isValidFieldName(field)) throw problem(this.expr, `invalid field name "${field}"`);
    if (this.keyword('exists')) return { field, op: 'exists', value: true };
    if (this.keyword('is')) {
      const negated = this.keyword('not');
      if (this.value() !== null) throw problem(this.expr, '"is" takes null');
      return { field, op: 'exists', value: negated };
    }
    if (this.keyword('not')) {
      if (!this.keyword('in')) throw problem(this.expr, 'expected "in" after "not"');
      return { field, op: 'nin', value: this.list() };
    }
    if (this.keyword('in')) return { field, op: 'in', value: this.list() };
    const op = this.tokens[this.pos++];
    if (op?.t !== 'op')
      throw problem(this.expr, `expected an operator after "${field}", got "${String(op?.v ?? 'end')}"`);
    const value = this.value();
    if (value === null) {
      if (op.v === '==') return { field, op: 'exists', value: false };
      if (op.v === '!=') return { field, op: 'exists', value: true };
      throw problem(this.expr, `"${op.v}" cannot compare with null`);
    }
    switch (op.v) {
      case '==':
        return { field, op: 'eq', value };
      case '!=':
        return { field, op: 'neq', value };
      default: {
        if (typeof value === 'boolean') throw problem(this.expr, `"${op.v}" needs a number or a string`);
        const ops = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' } as const;
        return { field, op: ops[op.v as keyof typeof ops], value };
      }
    }
  }
}

/** AND of ORs of leaves. */
function toCnf(node: Node, expr: string): Leaf[][] {
  if ('and' in node) return node.and.flatMap((n) => toCnf(n, expr));
  if ('or' in node) {
    let acc: Leaf[][] = [[]];
    for (const part of node.or) {
      const cnf = toCnf(part, expr);
      const next: Leaf[][] = [];
      for (const a of acc) for (const b of cnf) next.push([...a, ...b]);
      if (next.length > MAX_CLAUSES) throw problem(expr, `too complex (more than ${MAX_CLAUSES} clauses)`);
      acc = next;
    }
    return acc;
  }
  return [[node]];
}

/**
 * Parses the seed's condition expressions (`"total >= 1000 and status == 'new'"`) into the
 * portable {@link Filter}, so observers and search mocks share one evaluator. Grammar: `and` /
 * `or` (also `&&` / `||`), parentheses, `== = != > >= < <=`, `in [..]`, `not in [..]`,
 * `exists`, `is null`, `is not null`; values are quoted strings, numbers, `true`, `false`,
 * `null`. Any problem is IN002 with the position.
 */
export function parseFilterExpression(expr: string): Filter {
  if (typeof expr !== 'string' || expr.trim() === '')
    throw problem(String(expr), 'must be a non-empty string');
  if (expr.length > MAX_EXPRESSION_LENGTH)
    throw problem(expr, `longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tokens = tokenize(expr);
  const node = new Parser(expr, tokens).parse();
  const cnf = toCnf(node, expr);
  const clauses: Clause[] = cnf.map((or) => (or.length === 1 ? (or[0] as Leaf) : { or }));
  const filter: Filter = clauses.length === 1 ? (clauses[0] as Clause) : { and: clauses };
  try {
    normalizeFilter(filter);
  } catch (err) {
    throw problem(expr, (err as Error).message);
  }
  return filter;
}
