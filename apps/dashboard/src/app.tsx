import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describe, getToken, setAuthErrorListener, setToken } from './lib/api';
import { href, useRoute } from './lib/hooks';
import { CachePage } from './pages/cache';
import { FlowsPage } from './pages/flows';
import { ObserversPage } from './pages/observers';
import { OverviewPage } from './pages/overview';
import { QueuesPage } from './pages/queues';
import { SearchPage } from './pages/search';

type Auth = { state: 'checking' } | { state: 'login'; error?: string } | { state: 'ok' };
type Optional = 'observers' | 'flows';

const PAGES = [
  { id: 'overview', label: 'Overview' },
  { id: 'queues', label: 'Queues' },
  { id: 'search', label: 'Search' },
  { id: 'cache', label: 'Cache' },
  { id: 'observers', label: 'Observers' },
  { id: 'flows', label: 'Flows' },
] as const;

/** `/slo` needs the token whenever the server has one: the cheapest way to check it. */
async function probe(): Promise<Auth> {
  try {
    await api('/slo', { quietAuth: true });
    return { state: 'ok' };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { state: 'login' };
    if (err instanceof ApiError && err.status === 403) {
      setToken(null);
      return { state: 'login', error: 'The server rejected this token (403). Check FRAISEQL_API_TOKEN.' };
    }
    return { state: 'login', error: `Cannot reach the server: ${describe(err)}` };
  }
}

/** Observers and flows run only when configured: their routes then answer 404 or IN004. */
async function available(path: string): Promise<boolean> {
  try {
    await api(path);
    return true;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.code === 'IN004' || err.code === 'IN008'))
      return false;
    return true;
  }
}

function Login({ error, onDone }: { error?: string; onDone: (a: Auth) => void }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setToken(value.trim());
    const result = await probe();
    setBusy(false);
    if (result.state === 'login' && !result.error)
      onDone({ state: 'login', error: 'A token is required (401).' });
    else onDone(result);
  };
  return (
    <main id="main" class="login">
      <h1>fraiseql operations</h1>
      <form onSubmit={submit} class="card">
        <p>This server requires an API token. It is kept for this browser tab only.</p>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="current-password"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" class="btn" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [features, setFeatures] = useState<Record<Optional, boolean>>({ observers: false, flows: false });
  const route = useRoute();

  useEffect(() => {
    setAuthErrorListener((err) => {
      setToken(null);
      setAuth({ state: 'login', error: `Signed out: ${describe(err)}` });
    });
    void probe().then(setAuth);
    return () => setAuthErrorListener(undefined);
  }, []);

  useEffect(() => {
    if (auth.state !== 'ok') return;
    void Promise.all([available('/observers'), available('/flows')]).then(([observers, flows]) =>
      setFeatures({ observers, flows }),
    );
  }, [auth.state]);

  if (auth.state === 'checking') return <p class="muted">Connecting…</p>;
  if (auth.state === 'login') return <Login error={auth.error} onDone={setAuth} />;

  const page = route.path[0] ?? 'overview';
  const shown = PAGES.filter((p) => !(p.id === 'observers' || p.id === 'flows') || features[p.id]);
  const rest = route.path.slice(1);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">fraiseql operations</span>
        <nav aria-label="Pages">
          {shown.map((p) => (
            <a key={p.id} href={href([p.id])} aria-current={p.id === page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        {getToken() ? (
          <button
            type="button"
            class="btn"
            onClick={() => {
              setToken(null);
              setAuth({ state: 'login' });
            }}
          >
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'overview' && <OverviewPage />}
        {page === 'queues' && <QueuesPage rest={rest} query={route.query} />}
        {page === 'search' && <SearchPage rest={rest} />}
        {page === 'cache' && <CachePage />}
        {page === 'observers' && <ObserversPage />}
        {page === 'flows' && <FlowsPage rest={rest} />}
        {!PAGES.some((p) => p.id === page) && <p>No page named “{page}”.</p>}
      </main>
    </>
  );
}
