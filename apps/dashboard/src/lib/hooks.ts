import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describe } from './api';

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** Fetch again now (after an action). */
  refresh(): void;
}

/**
 * Calls `load` now and every `intervalMs` while the page is shown; `deps` restart it. Errors are
 * kept as text next to the last good data, so a blip does not blank the page.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const tick = useRef(0);
  const run = useCallback(async () => {
    const mine = ++tick.current;
    try {
      const value = await loadRef.current();
      if (mine !== tick.current) return;
      setData(value);
      setError(undefined);
    } catch (err) {
      if (mine === tick.current) setError(describe(err));
    }
  }, []);
  useEffect(() => {
    setData(undefined);
    void run();
    const timer = setInterval(() => void run(), intervalMs);
    return () => {
      clearInterval(timer);
      tick.current++;
    };
  }, deps);
  return { data, error, refresh: () => void run() };
}

/** The hash route: `#/queues/emails?state=failed` → `{ path: ['queues','emails'], query }`. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

function parseHash(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p = '', q = ''] = raw.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function href(path: string[], query?: Record<string, string>): string {
  const q = query ? new URLSearchParams(query).toString() : '';
  return `#/${path.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

/** A list of names remembered in localStorage (queues and indexes the API cannot enumerate). */
export function useStoredList(key: string, defaults: string[]): [string[], (next: string[]) => void] {
  const [list, setList] = useState<string[]>(() => {
    try {
      const raw = localStorage.getItem(key);
      const parsed = raw ? (JSON.parse(raw) as unknown) : null;
      return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : defaults;
    } catch {
      return defaults;
    }
  });
  const save = (next: string[]) => {
    setList(next);
    try {
      localStorage.setItem(key, JSON.stringify(next));
    } catch {
      // Not persisted: still works for this visit.
    }
  };
  return [list, save];
}
