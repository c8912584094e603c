import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describe } from './lib/api';

/** Status is a word first; the colour only repeats it (`tone` picks the class). */
export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'idle';
  children: ComponentChildren;
}) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function ErrorLine({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

/** Any JSON value as indented text (never HTML). */
export function Json({ value }: { value: unknown }) {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
  } catch {
    text = String(value);
  }
  return <pre class="json">{text}</pre>;
}

/**
 * A button that runs an async action, shows "…" while it runs and the failure beside it. With
 * `confirm`, the first press asks inline (no window.confirm: a dialog would steal focus and
 * cannot be styled) and a second button does it.
 */
export function ActionButton(props: {
  label: string;
  run: () => Promise<unknown>;
  confirm?: string;
  danger?: boolean;
  onDone?: (result: unknown) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string>();
  const go = async () => {
    setAsking(false);
    setBusy(true);
    setError(undefined);
    try {
      props.onDone?.(await props.run());
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  const cls = props.danger ? 'btn btn-danger' : 'btn';
  return (
    <span class="action">
      {asking ? (
        <fieldset class="confirm">
          <legend class="sr-only">Confirm {props.label}</legend>
          <span>{props.confirm}</span>
          <button type="button" class={cls} onClick={go}>
            Yes, {props.label.toLowerCase()}
          </button>
          <button type="button" class="btn" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </fieldset>
      ) : (
        <button
          type="button"
          class={cls}
          disabled={busy}
          onClick={() => (props.confirm ? setAsking(true) : go())}
        >
          {busy ? `${props.label}…` : props.label}
        </button>
      )}
      {error ? (
        <span class="error inline" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export const fmtTime = (v: unknown): string => {
  if (typeof v !== 'string' && typeof v !== 'number') return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
};

export const pct = (v: number | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a';
