import { useRef } from 'preact/hooks';
import { Badge, ErrorLine, Loading, pct, Section } from '../components';
import { ApiError, api } from '../lib/api';
import { usePoll } from '../lib/hooks';

interface ProviderStatus {
  healthy?: boolean;
  checkLatencyMs?: number;
  breaker?: 'closed' | 'half_open' | 'open';
  budgetRemaining?: number;
}
interface Health {
  status: 'ok' | 'unhealthy';
  checks: Record<string, boolean>;
  providers: Record<string, ProviderStatus>;
}
interface Snapshot {
  name: string;
  total: number;
  violations: number;
  errors: number;
  errorBudgetRemaining: number;
  withinSlo: boolean;
}
interface Slo {
  withinSlo: boolean;
  averageBudgetRemaining: number;
  snapshots: Snapshot[];
}

const MAX_SAMPLES = 60;
const POLL_MS = 2000;

/** /health answers 503 with the same body when something is down: that is data, not a failure. */
async function loadHealth(): Promise<Health> {
  try {
    return await api<Health>('/health');
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) {
      const res = await fetch('/health', { credentials: 'omit' });
      return (await res.json()) as Health;
    }
    throw err;
  }
}

const breakerTone = (b: string | undefined) => (b === 'open' ? 'bad' : b === 'half_open' ? 'warn' : 'ok');

/** Budget remaining over the polled samples, 0–100 %, as an inline SVG line (no chart library). */
function BudgetChart({ name, samples }: { name: string; samples: number[] }) {
  const w = 160;
  const h = 36;
  const last = samples.at(-1);
  // Newest sample at the right edge; one sample is drawn as a short flat line so it shows.
  const shown = samples.length === 1 ? [samples[0]!, samples[0]!] : samples;
  const step = w / (MAX_SAMPLES - 1);
  const points = shown
    .map((v, i) => {
      const x = w - (shown.length - 1 - i) * step;
      const y = h - 2 - Math.max(0, Math.min(1, v)) * (h - 4);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return (
    <svg
      class="chart"
      width={w}
      height={h}
      viewBox={`0 0 ${w} ${h}`}
      role="img"
      aria-label={`${name}: error budget over the last ${samples.length} samples, now ${pct(last)}`}
    >
      <title>{`${name} error budget, now ${pct(last)}`}</title>
      <line x1="0" y1={h - 2} x2={w} y2={h - 2} class="chart-axis" />
      <polyline points={points} class="chart-line" fill="none" />
    </svg>
  );
}

export function OverviewPage() {
  const health = usePoll(loadHealth, POLL_MS);
  const samples = useRef(new Map<string, number[]>());
  const slo = usePoll(async () => {
    const s = await api<Slo>('/slo');
    for (const snap of s.snapshots) {
      const list = samples.current.get(snap.name) ?? [];
      list.push(snap.errorBudgetRemaining);
      if (list.length > MAX_SAMPLES) list.shift();
      samples.current.set(snap.name, list);
    }
    return s;
  }, POLL_MS);
  const providers = Object.entries(health.data?.providers ?? {});
  return (
    <>
      <h1>Overview</h1>
      <Section title="Providers">
        <ErrorLine error={health.error} />
        {!health.data ? (
          <Loading what="health" />
        ) : (
          <>
            <p>
              Overall:{' '}
              <Badge tone={health.data.status === 'ok' ? 'ok' : 'bad'}>
                {health.data.status === 'ok' ? 'healthy' : 'unhealthy'}
              </Badge>
            </p>
            <table>
              <caption class="sr-only">Health and circuit breaker per provider</caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Health</th>
                  <th scope="col">Breaker</th>
                  <th scope="col">Check latency</th>
                  <th scope="col">Error budget</th>
                </tr>
              </thead>
              <tbody>
                {providers.length === 0 ? (
                  <tr>
                    <td colSpan={5}>No provider configured.</td>
                  </tr>
                ) : (
                  providers.map(([name, p]) => (
                    <tr key={name}>
                      <th scope="row">{name}</th>
                      <td>
                        <Badge tone={p.healthy ? 'ok' : 'bad'}>{p.healthy ? 'healthy' : 'unhealthy'}</Badge>
                      </td>
                      <td>
                        <Badge tone={breakerTone(p.breaker)}>{(p.breaker ?? 'n/a').replace('_', '-')}</Badge>
                      </td>
                      <td>
                        {typeof p.checkLatencyMs === 'number' ? `${p.checkLatencyMs.toFixed(1)} ms` : 'n/a'}
                      </td>
                      <td>{pct(p.budgetRemaining)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </>
        )}
      </Section>
      <Section title="SLO error budgets">
        <ErrorLine error={slo.error} />
        {!slo.data ? (
          <Loading what="SLOs" />
        ) : (
          <>
            <p>
              Average budget remaining: {pct(slo.data.averageBudgetRemaining)}{' '}
              <Badge tone={slo.data.withinSlo ? 'ok' : 'bad'}>
                {slo.data.withinSlo ? 'within SLO' : 'SLO breached'}
              </Badge>
            </p>
            <table>
              <caption class="sr-only">Error budget per operation, sampled every {POLL_MS / 1000} s</caption>
              <thead>
                <tr>
                  <th scope="col">Operation</th>
                  <th scope="col">Status</th>
                  <th scope="col">Budget remaining</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Violations</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Budget over time</th>
                </tr>
              </thead>
              <tbody>
                {slo.data.snapshots.map((s) => (
                  <tr key={s.name}>
                    <th scope="row">{s.name}</th>
                    <td>
                      <Badge tone={s.withinSlo ? (s.errorBudgetRemaining < 0.25 ? 'warn' : 'ok') : 'bad'}>
                        {s.withinSlo ? (s.errorBudgetRemaining < 0.25 ? 'burning' : 'ok') : 'exhausted'}
                      </Badge>
                    </td>
                    <td>{pct(s.errorBudgetRemaining)}</td>
                    <td>{s.total}</td>
                    <td>{s.violations}</td>
                    <td>{s.errors}</td>
                    <td>
                      <BudgetChart name={s.name} samples={samples.current.get(s.name) ?? []} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Section>
    </>
  );
}
