/** Seeded pseudo-random data for comparing the SQL translator with the in-memory evaluator. */

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [-3, -1.5, 0, 1, 2, 2.5, 3, 10, 100];
const STRINGS = ['a', 'b', 'c', 'A', 'ä', 'a b', '', '10', '2', 'true', "o'k", '"q"'];
const ABSENT = Symbol('absent');

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function scalar(rnd: () => number): string | number | boolean {
  const r = rnd();
  if (r < 0.45) return pick(rnd, NUMBERS);
  if (r < 0.85) return pick(rnd, STRINGS);
  return rnd() < 0.5;
}

/** A field value: missing, null, a scalar of any type, an array (sometimes nested), or an object. */
function value(rnd: () => number, kind: 'number' | 'string' | 'mixed'): unknown {
  const r = rnd();
  if (r < 0.12) return ABSENT;
  if (r < 0.18) return null;
  if (r < 0.65)
    return kind === 'number' ? pick(rnd, NUMBERS) : kind === 'string' ? pick(rnd, STRINGS) : scalar(rnd);
  if (r < 0.9) {
    const n = Math.floor(rnd() * 4);
    return Array.from({ length: n }, () =>
      kind === 'number' ? pick(rnd, NUMBERS) : kind === 'string' ? pick(rnd, STRINGS) : scalar(rnd),
    );
  }
  if (r < 0.95) return [[pick(rnd, NUMBERS)], pick(rnd, STRINGS)];
  return { x: scalar(rnd) };
}

export interface RandomDoc {
  id: string;
  data: Record<string, unknown>;
}

export function randomDocuments(count: number, seed: number): RandomDoc[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => {
    const data: Record<string, unknown> = {};
    const set = (k: string, v: unknown) => {
      if (v !== ABSENT) data[k] = v;
    };
    set('n', value(rnd, 'number'));
    set('s', value(rnd, 'string'));
    set('b', rnd() < 0.8 ? rnd() < 0.5 : value(rnd, 'mixed'));
    set('m', value(rnd, 'mixed'));
    const o = rnd();
    if (o < 0.6) data.o = { x: value(rnd, 'mixed') === ABSENT ? undefined : scalar(rnd) };
    else if (o < 0.7) data.o = [{ x: 1 }];
    else if (o < 0.8) data.o = 5;
    return { id: `r${String(i).padStart(3, '0')}`, data: JSON.parse(JSON.stringify(data)) };
  });
}

const FIELDS = ['n', 's', 'b', 'o.x', 'm'];
const OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'nin', 'exists'] as const;

function leaf(rnd: () => number): Record<string, unknown> {
  const field = pick(rnd, FIELDS);
  const op = pick(rnd, OPS);
  const ordered = () => (rnd() < 0.6 ? pick(rnd, NUMBERS) : pick(rnd, STRINGS));
  switch (op) {
    case 'eq':
    case 'neq':
      return { field, op, value: scalar(rnd) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { field, op, value: ordered() };
    case 'between': {
      const lo = ordered();
      const hi = typeof lo === 'number' ? pick(rnd, NUMBERS) : pick(rnd, STRINGS);
      return { field, op, value: [lo, hi] };
    }
    case 'in':
    case 'nin':
      return { field, op, value: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => scalar(rnd)) };
    default:
      return rnd() < 0.3 ? { field, op } : { field, op, value: rnd() < 0.5 };
  }
}

/** Single conditions, OR groups and ANDs of both. */
export function randomFilters(count: number, seed: number): unknown[] {
  const rnd = mulberry32(seed);
  const clause = () => (rnd() < 0.7 ? leaf(rnd) : { or: [leaf(rnd), leaf(rnd)] });
  return Array.from({ length: count }, () => {
    const r = rnd();
    if (r < 0.5) return leaf(rnd);
    if (r < 0.7) return { or: [leaf(rnd), leaf(rnd), leaf(rnd)] };
    return { and: [clause(), clause()] };
  });
}
