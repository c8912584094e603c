import { parsingError } from './errors';

/**
 * The subset of Lucene syntax `query_string` accepts in the double, translated into query DSL:
 * `field:value`, `field:"a phrase"`, `field:(a OR b)`, `field:[a TO b]` / `{a TO b}`, `field:>=x`,
 * `field:*` and `_exists_:field`, `AND`/`OR`/`NOT`/`&&`/`||`/`!`, `+`/`-` prefixes, parentheses and
 * backslash escapes. Bare words search `default_field` (or every field).
 */
type Dsl = Record<string, unknown>;

interface Tok {
  kind: 'word' | 'phrase' | 'op' | 'lp' | 'rp' | 'range';
  text: string;
}

function lex(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ kind: c === '(' ? 'lp' : 'rp', text: c });
      i++;
      continue;
    }
    if (c === '"') {
      let s = '';
      i++;
      while (i < q.length && q[i] !== '"') {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        s += q[i++];
      }
      if (i >= q.length) throw parsingError(`Failed to parse query [${q}]: unterminated phrase`);
      i++;
      out.push({ kind: 'phrase', text: s });
      continue;
    }
    if (c === '[' || c === '{') {
      const end = q.slice(i).search(/[\]}]/);
      if (end < 0) throw parsingError(`Failed to parse query [${q}]: unterminated range`);
      out.push({ kind: 'range', text: q.slice(i, i + end + 1) });
      i += end + 1;
      continue;
    }
    if (q.startsWith('&&', i) || q.startsWith('||', i)) {
      out.push({ kind: 'op', text: q.startsWith('&&', i) ? 'AND' : 'OR' });
      i += 2;
      continue;
    }
    if (
      (c === '+' || c === '-' || c === '!') &&
      (out.length === 0 || out.at(-1)!.kind !== 'word' || /\s/.test(q[i - 1] ?? ' '))
    ) {
      out.push({ kind: 'op', text: c === '+' ? '+' : 'NOT' });
      i++;
      continue;
    }
    let s = '';
    while (i < q.length && !/[\s()"[{]/.test(q[i]!)) {
      if (q[i] === '\\' && i + 1 < q.length) {
        s += q[i + 1];
        i += 2;
        continue;
      }
      s += q[i++];
      if (s.endsWith(':')) break;
    }
    if (s === 'AND' || s === 'OR' || s === 'NOT') out.push({ kind: 'op', text: s });
    else out.push({ kind: 'word', text: s });
  }
  return out;
}

function rangeOf(field: string, text: string): Dsl {
  const m = /^([[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])$/.exec(text);
  if (!m) throw parsingError(`Failed to parse range [${text}]`);
  const r: Dsl = {};
  if (m[2] !== '*') r[m[1] === '[' ? 'gte' : 'gt'] = m[2];
  if (m[3] !== '*') r[m[4] === ']' ? 'lte' : 'lt'] = m[3];
  return { range: { [field]: r } };
}

export function queryStringToDsl(
  query: string,
  defaultField: string | string[],
  defaultOperator: 'and' | 'or',
): Dsl {
  const toks = lex(query);
  let pos = 0;
  const peek = () => toks[pos];
  const valueFor = (field: string | string[] | undefined, t: Tok): Dsl => {
    const fields = field ?? defaultField;
    if (t.kind === 'range') {
      if (Array.isArray(fields)) throw parsingError('a range needs a field');
      return rangeOf(fields, t.text);
    }
    if (typeof fields === 'string') {
      if (t.kind === 'word') {
        if (t.text === '*') return { exists: { field: fields } };
        const cmp = /^(>=|<=|>|<)(.+)$/.exec(t.text);
        if (cmp)
          return {
            range: { [fields]: { [{ '>=': 'gte', '<=': 'lte', '>': 'gt', '<': 'lt' }[cmp[1]!]!]: cmp[2] } },
          };
      }
      return { match: { [fields]: { query: t.text, operator: 'and' } } };
    }
    return { multi_match: { query: t.text, fields, operator: 'and', lenient: true } };
  };
  const parseOr = (field?: string): Dsl => {
    const parts = [parseAnd(field)];
    while (peek()?.kind === 'op' && peek()!.text === 'OR') {
      pos++;
      parts.push(parseAnd(field));
    }
    return parts.length === 1 ? parts[0]! : { bool: { should: parts, minimum_should_match: 1 } };
  };
  const parseAnd = (field?: string): Dsl => {
    const must: Dsl[] = [];
    const should: Dsl[] = [];
    const mustNot: Dsl[] = [];
    let explicitAnd = false;
    while (pos < toks.length) {
      const t = peek()!;
      if (t.kind === 'rp' || (t.kind === 'op' && t.text === 'OR')) break;
      if (t.kind === 'op' && t.text === 'AND') {
        explicitAnd = true;
        pos++;
        continue;
      }
      let negate = false;
      let required = false;
      while (peek()?.kind === 'op' && (peek()!.text === 'NOT' || peek()!.text === '+')) {
        if (peek()!.text === 'NOT') negate = !negate;
        else required = true;
        pos++;
      }
      const clause = parseUnit(field);
      if (negate) mustNot.push(clause);
      else if (required || explicitAnd || defaultOperator === 'and') must.push(clause);
      else should.push(clause);
    }
    if (explicitAnd) {
      must.push(...should);
      should.length = 0;
    }
    if (must.length === 1 && should.length === 0 && mustNot.length === 0) return must[0]!;
    if (should.length === 1 && must.length === 0 && mustNot.length === 0) return should[0]!;
    const bool: Dsl = {};
    if (must.length) bool.must = must;
    if (should.length) bool.should = should;
    if (mustNot.length) bool.must_not = mustNot;
    if (should.length && !must.length) bool.minimum_should_match = 1;
    if (!must.length && !should.length) bool.must = [{ match_all: {} }];
    return { bool };
  };
  const parseUnit = (field?: string): Dsl => {
    const t = toks[pos++];
    if (!t) throw parsingError(`Failed to parse query [${query}]: unexpected end`);
    if (t.kind === 'lp') {
      const inner = parseOr(field);
      if (toks[pos++]?.kind !== 'rp') throw parsingError(`Failed to parse query [${query}]: missing )`);
      return inner;
    }
    if (t.kind === 'word' && t.text.endsWith(':') && t.text.length > 1) {
      const name = t.text.slice(0, -1);
      const next = toks[pos];
      if (name === '_exists_' && next?.kind === 'word') {
        pos++;
        return { exists: { field: next.text } };
      }
      if (next?.kind === 'lp') {
        pos++;
        const inner = parseOr(name);
        if (toks[pos++]?.kind !== 'rp') throw parsingError(`Failed to parse query [${query}]: missing )`);
        return inner;
      }
      if (!next || next.kind === 'op' || next.kind === 'rp')
        throw parsingError(`Failed to parse query [${query}]: no value for ${name}`);
      pos++;
      return valueFor(name, next);
    }
    if (t.kind === 'op' || t.kind === 'rp')
      throw parsingError(`Failed to parse query [${query}]: unexpected ${t.text}`);
    return valueFor(field, t);
  };
  if (toks.length === 0) return { match_none: {} };
  const out = parseOr();
  if (pos < toks.length)
    throw parsingError(`Failed to parse query [${query}]: unexpected ${toks[pos]!.text}`);
  return out;
}
