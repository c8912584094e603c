import { useState } from 'preact/hooks';
import { ActionButton, ErrorLine, Section } from '../components';
import { ApiError, api, describe, seg } from '../lib/api';

type Lookup = { key: string; found: false } | { key: string; found: true; value: string };

/** True when the glob has a wildcard (`*`, `?`) that is not escaped by `\`. */
export function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '*' || pattern[i] === '?') return true;
  }
  return false;
}

const unescapeGlob = (pattern: string) => pattern.replace(/\\(.)/g, '$1');

async function lookup(key: string): Promise<Lookup> {
  try {
    return { key, found: true, value: await api<string>(`/cache/${seg(key)}`, { text: true }) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return { key, found: false };
    throw err;
  }
}

/**
 * The count before deleting: exact for a pattern without wildcards (one lookup); the API has no
 * dry run for globs, so for those the count is the one the delete reports.
 */
async function preview(pattern: string): Promise<string> {
  if (hasWildcard(pattern))
    return `Deletes every key matching “${pattern}”; the server reports the count afterwards.`;
  const one = await lookup(unescapeGlob(pattern));
  return one.found ? 'Matches 1 key.' : 'Matches 0 keys.';
}

export function CachePage() {
  const [key, setKey] = useState('');
  const [result, setResult] = useState<Lookup>();
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const [pattern, setPattern] = useState('');
  const [count, setCount] = useState<string>();
  const get = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setNote(undefined);
    try {
      setResult(await lookup(key));
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <>
      <h1>Cache</h1>
      <Section title="Look up a key">
        <form class="row" onSubmit={get}>
          <label for="cache-key">Key</label>
          <input
            id="cache-key"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            required
          />
          <button type="submit" class="btn">
            Get
          </button>
        </form>
        <ErrorLine error={error} />
        {result ? (
          <div class="result" aria-live="polite">
            <p>
              Key: <code>{result.key}</code> —{' '}
              {result.found ? `${new TextEncoder().encode(result.value).length} bytes` : 'not found'}
            </p>
            {result.found ? (
              <>
                <pre class="json">{result.value}</pre>
                <ActionButton
                  label="Delete key"
                  danger
                  confirm={`Delete ${result.key}?`}
                  run={() => api<{ deleted: boolean }>(`/cache/${seg(result.key)}`, { method: 'DELETE' })}
                  onDone={(r) => {
                    setNote(
                      (r as { deleted: boolean }).deleted ? `Deleted ${result.key}.` : 'It was already gone.',
                    );
                    setResult({ key: result.key, found: false });
                  }}
                />
              </>
            ) : null}
          </div>
        ) : null}
        {note ? <p role="status">{note}</p> : null}
      </Section>
      <Section title="Delete by pattern">
        <form
          class="row"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              setCount(await preview(pattern));
            } catch (err) {
              setCount(describe(err));
            }
          }}
        >
          <label for="cache-pattern">Glob pattern</label>
          <input
            id="cache-pattern"
            value={pattern}
            placeholder="user:*"
            onInput={(e) => {
              setPattern((e.target as HTMLInputElement).value);
              setCount(undefined);
            }}
            required
          />
          <button type="submit" class="btn">
            Preview
          </button>
        </form>
        <p class="muted">* any run of characters, ? one character, \ escapes.</p>
        {count !== undefined ? (
          <div class="row">
            <p role="status">{count}</p>
            <ActionButton
              label="Delete matching keys"
              danger
              confirm={`Delete every key matching ${pattern}?`}
              run={() =>
                api<{ deleted: number }>(`/cache?pattern=${encodeURIComponent(pattern)}`, {
                  method: 'DELETE',
                })
              }
              onDone={(r) => setCount(`Deleted ${(r as { deleted: number }).deleted} key(s).`)}
            />
          </div>
        ) : null}
      </Section>
    </>
  );
}
