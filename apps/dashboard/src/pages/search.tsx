import { useState } from 'preact/hooks';
import { ActionButton, ErrorLine, Json, Section } from '../components';
import { api, describe, seg } from '../lib/api';
import { safeHighlight } from '../lib/highlight';
import { href, useStoredList } from '../lib/hooks';

interface Hit {
  id: string;
  score?: number;
  document: Record<string, unknown>;
  highlights?: Record<string, string>;
}
interface Result {
  hits: Hit[];
  totalHits: number;
  totalHitsExact: boolean;
  processingTimeMs: number;
}
const OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'nin', 'exists'] as const;
type Op = (typeof OPS)[number];
interface Row {
  field: string;
  op: Op;
  value: string;
}

/** A typed value: numbers and booleans as such, `in`/`nin` comma lists, `between` "a..b". */
function parseValue(op: Op, text: string): unknown {
  const one = (t: string): unknown => {
    const s = t.trim();
    if (s === 'true' || s === 'false') return s === 'true';
    return s !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
  };
  if (op === 'exists') return text.trim() !== 'false';
  if (op === 'in' || op === 'nin') return text.split(',').map(one);
  if (op === 'between') return text.split('..').map(one).slice(0, 2);
  return one(text);
}

export function buildFilter(rows: Row[]): unknown {
  const leaves = rows
    .filter((r) => r.field.trim())
    .map((r) => ({ field: r.field.trim(), op: r.op, value: parseValue(r.op, r.value) }));
  if (leaves.length === 0) return undefined;
  return leaves.length === 1 ? leaves[0] : { and: leaves };
}

function FilterBuilder({ rows, setRows }: { rows: Row[]; setRows: (r: Row[]) => void }) {
  const set = (i: number, patch: Partial<Row>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend>Filters (all must match)</legend>
      {rows.map((r, i) => (
        <div class="row" key={i}>
          <label>
            Field{' '}
            <input value={r.field} onInput={(e) => set(i, { field: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            Operator{' '}
            <select
              value={r.op}
              onChange={(e) => set(i, { op: (e.target as HTMLSelectElement).value as Op })}
            >
              {OPS.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label>
            Value{' '}
            <input value={r.value} onInput={(e) => set(i, { value: (e.target as HTMLInputElement).value })} />
          </label>
          <button type="button" class="btn" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
            Remove filter {i + 1}
          </button>
        </div>
      ))}
      <button
        type="button"
        class="btn"
        onClick={() => setRows([...rows, { field: '', op: 'eq', value: '' }])}
      >
        Add filter
      </button>
      <p class="muted">Lists for in/nin: a,b,c. Ranges for between: 10..20.</p>
    </fieldset>
  );
}

/** A hit: highlighted fields as escaped HTML with only `<mark>` kept, the rest as JSON text. */
function HitRow({ hit }: { hit: Hit }) {
  const hl = Object.entries(hit.highlights ?? {});
  return (
    <tr>
      <th scope="row">
        <code>{hit.id}</code>
      </th>
      <td>{typeof hit.score === 'number' ? hit.score.toFixed(3) : ''}</td>
      <td>
        {hl.map(([field, html]) => (
          <p key={field} class="hl">
            <strong>{field}: </strong>
            <span dangerouslySetInnerHTML={{ __html: safeHighlight(html) }} />
          </p>
        ))}
        <Json value={hit.document} />
      </td>
    </tr>
  );
}

function IndexView({ index }: { index: string }) {
  const [q, setQ] = useState('');
  const [rows, setRows] = useState<Row[]>([]);
  const [fields, setFields] = useState('');
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<string>();
  const [settings, setSettings] = useState(
    '{\n  "searchable": ["title"],\n  "filterable": [],\n  "sortable": []\n}',
  );
  const [saved, setSaved] = useState<string>();
  const run = async (e?: Event) => {
    e?.preventDefault();
    setError(undefined);
    const highlight = fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const filter = buildFilter(rows);
    try {
      setResult(
        await api<Result>(`/search/${seg(index)}`, {
          method: 'POST',
          body: {
            query: q,
            limit: 20,
            ...(filter ? { filter } : {}),
            ...(highlight.length ? { highlight } : {}),
          },
        }),
      );
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <>
      <Section title={`Query ${index}`}>
        <form onSubmit={run}>
          <div class="row">
            <label for="q">Query</label>
            <input
              id="q"
              type="search"
              value={q}
              onInput={(e) => setQ((e.target as HTMLInputElement).value)}
            />
            <label for="hl">Highlight fields</label>
            <input
              id="hl"
              value={fields}
              placeholder="title,body"
              onInput={(e) => setFields((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="btn">
              Search
            </button>
          </div>
          <FilterBuilder rows={rows} setRows={setRows} />
        </form>
        <ErrorLine error={error} />
        {result ? (
          <>
            <p role="status">
              {result.totalHits}
              {result.totalHitsExact ? '' : '+'} hit(s) in {result.processingTimeMs} ms
            </p>
            <table>
              <caption class="sr-only">Search hits</caption>
              <thead>
                <tr>
                  <th scope="col">Document</th>
                  <th scope="col">Score</th>
                  <th scope="col">Content</th>
                </tr>
              </thead>
              <tbody>
                {result.hits.map((h) => (
                  <HitRow key={h.id} hit={h} />
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </Section>
      <Section title="Settings">
        <label for="settings">Index settings (IndexConfig JSON; saving replaces the current settings)</label>
        <textarea
          id="settings"
          rows={6}
          value={settings}
          onInput={(e) => setSettings((e.target as HTMLTextAreaElement).value)}
        />
        <ActionButton
          label="Save settings"
          run={async () => {
            setSaved(undefined);
            await api(`/search/${seg(index)}/settings`, { method: 'PUT', body: JSON.parse(settings) });
            return 'Settings saved.';
          }}
          onDone={(m) => setSaved(String(m))}
        />
        {saved ? <p role="status">{saved}</p> : null}
      </Section>
    </>
  );
}

export function SearchPage({ rest }: { rest: string[] }) {
  const [indexes, setIndexes] = useStoredList('fraiseql.dashboard.indexes', []);
  const [draft, setDraft] = useState('');
  const index = rest[0];
  const add = (e: Event) => {
    e.preventDefault();
    const name = draft.trim();
    if (!name) return;
    if (!indexes.includes(name)) setIndexes([...indexes, name]);
    setDraft('');
    location.hash = href(['search', name]);
  };
  return (
    <>
      <h1>Search</h1>
      <Section title="Indexes">
        {indexes.length === 0 ? (
          <p class="muted">No index yet: the API cannot list them, add one by name.</p>
        ) : null}
        <ul class="row plain">
          {indexes.map((i) => (
            <li key={i}>
              <a class="btn" href={href(['search', i])} aria-current={i === index ? 'page' : undefined}>
                {i}
              </a>
            </li>
          ))}
        </ul>
        <form class="row" onSubmit={add}>
          <label for="index-add">Open index</label>
          <input
            id="index-add"
            value={draft}
            placeholder="products"
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          />
          <button type="submit" class="btn">
            Open
          </button>
        </form>
      </Section>
      {index ? <IndexView key={index} index={index} /> : null}
    </>
  );
}
