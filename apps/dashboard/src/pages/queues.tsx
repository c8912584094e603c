import { useState } from 'preact/hooks';
import { ActionButton, Badge, ErrorLine, fmtTime, Json, Loading, Section } from '../components';
import { api, seg } from '../lib/api';
import { href, usePoll, useStoredList } from '../lib/hooks';

interface QueueStats {
  queue: string;
  length: number;
  failed: number;
  paused: boolean;
}
interface Job {
  id: string;
  queue: string;
  data: unknown;
  attempts: number;
  maxRetries: number;
  createdAt: string;
  state: JobState;
  lastError?: string;
  completedAt?: string;
  failedAt?: string;
}
type JobState = 'pending' | 'running' | 'completed' | 'failed';
const STATES: JobState[] = ['pending', 'running', 'completed', 'failed'];
/** The worker's built-in queues (DESIGN §6); the API cannot list queues, so others are added by name. */
const BUILT_INS = ['webhook', 'search.index', 'search.delete', 'cache.invalidate'];
const POLL_MS = 1500;
const stateTone = (s: JobState) =>
  s === 'failed' ? 'bad' : s === 'completed' ? 'ok' : s === 'running' ? 'warn' : 'idle';

function QueueList({
  names,
  stored,
  setNames,
}: {
  names: string[];
  stored: string[];
  setNames: (n: string[]) => void;
}) {
  const [draft, setDraft] = useState('');
  const stats = usePoll(() => Promise.all(names.map((q) => api<QueueStats>(`/queues/${seg(q)}`))), POLL_MS, [
    names.join('\n'),
  ]);
  const add = (e: Event) => {
    e.preventDefault();
    const name = draft.trim();
    if (name && !names.includes(name)) setNames([...stored, name]);
    setDraft('');
  };
  return (
    <Section title="Queues">
      <ErrorLine error={stats.error} />
      <table>
        <caption class="sr-only">Depth, failed count and state per queue</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Pending</th>
            <th scope="col">Failed</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {names.map((q, i) => {
            const s = stats.data?.[i];
            return (
              <tr key={q}>
                <th scope="row">
                  <a href={href(['queues', q])}>{q}</a>
                </th>
                <td>{s ? s.length : '…'}</td>
                <td>{s ? s.failed : '…'}</td>
                <td>
                  {s ? <Badge tone={s.paused ? 'warn' : 'ok'}>{s.paused ? 'paused' : 'active'}</Badge> : '…'}
                </td>
                <td>
                  {s?.paused ? (
                    <ActionButton
                      label={`Resume ${q}`}
                      run={() => api(`/queues/${seg(q)}/resume`, { method: 'POST' })}
                      onDone={stats.refresh}
                    />
                  ) : (
                    <ActionButton
                      label={`Pause ${q}`}
                      run={() => api(`/queues/${seg(q)}/pause`, { method: 'POST' })}
                      onDone={stats.refresh}
                    />
                  )}{' '}
                  <a
                    class="btn"
                    href={href(['queues', q], { state: 'failed' })}
                    aria-label={`Failed jobs of ${q}`}
                  >
                    Failed jobs
                  </a>{' '}
                  {!stored.includes(q) ? null : (
                    <button type="button" class="btn" onClick={() => setNames(stored.filter((n) => n !== q))}>
                      Forget {q}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form class="row" onSubmit={add}>
        <label for="queue-add">Watch queue</label>
        <input
          id="queue-add"
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          placeholder="emails"
        />
        <button type="submit" class="btn">
          Add
        </button>
      </form>
    </Section>
  );
}

/** Retries every failed job of the queue, one request each (the API has no bulk retry). */
async function retryAll(queue: string): Promise<string> {
  const { jobs } = await api<{ jobs: Job[] }>(`/queues/${seg(queue)}/jobs?state=failed&limit=1000`);
  let ok = 0;
  for (const j of jobs) {
    await api(`/queues/${seg(queue)}/jobs/${seg(j.id)}/retry`, { method: 'POST' });
    ok++;
  }
  return `Retried ${ok} job(s).`;
}

function QueueDetail({ queue, state }: { queue: string; state: JobState }) {
  const [note, setNote] = useState<string>();
  const stats = usePoll(() => api<QueueStats>(`/queues/${seg(queue)}`), POLL_MS, [queue]);
  const jobs = usePoll(
    () => api<{ jobs: Job[] }>(`/queues/${seg(queue)}/jobs?state=${state}&limit=100`),
    POLL_MS,
    [queue, state],
  );
  const refresh = () => {
    stats.refresh();
    jobs.refresh();
  };
  const s = stats.data;
  return (
    <>
      <p>
        <a href={href(['queues'])}>← All queues</a>
      </p>
      <Section title={`Queue ${queue}`}>
        <ErrorLine error={stats.error} />
        {s ? (
          <p class="row">
            <span>Pending: {s.length}</span>
            <span>Failed: {s.failed}</span>
            <Badge tone={s.paused ? 'warn' : 'ok'}>{s.paused ? 'paused' : 'active'}</Badge>
            {s.paused ? (
              <ActionButton
                label="Resume"
                run={() => api(`/queues/${seg(queue)}/resume`, { method: 'POST' })}
                onDone={refresh}
              />
            ) : (
              <ActionButton
                label="Pause"
                run={() => api(`/queues/${seg(queue)}/pause`, { method: 'POST' })}
                onDone={refresh}
              />
            )}
            <ActionButton
              label="Retry all failed"
              confirm={`Move all ${s.failed} failed job(s) of ${queue} back to pending?`}
              run={() => retryAll(queue)}
              onDone={(r) => {
                setNote(String(r));
                refresh();
              }}
            />
          </p>
        ) : (
          <Loading what="stats" />
        )}
        {note ? <p role="status">{note}</p> : null}
      </Section>
      <Section title={`Jobs: ${state}`}>
        <nav aria-label="Job state" class="row">
          {STATES.map((st) => (
            <a
              key={st}
              class="btn"
              href={href(['queues', queue], { state: st })}
              aria-current={st === state ? 'page' : undefined}
            >
              {st}
            </a>
          ))}
        </nav>
        <ErrorLine error={jobs.error} />
        {!jobs.data ? (
          <Loading what="jobs" />
        ) : (
          <table class="jobs">
            <caption class="sr-only">{`${state} jobs of ${queue}`}</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Created</th>
                <th scope="col">Payload</th>
                <th scope="col">Error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.jobs.length === 0 ? (
                <tr>
                  <td colSpan={7}>No {state} jobs.</td>
                </tr>
              ) : (
                jobs.data.jobs.map((j) => (
                  <tr key={j.id} data-job-id={j.id}>
                    <th scope="row">
                      <code>{j.id}</code>
                    </th>
                    <td>
                      <Badge tone={stateTone(j.state)}>{j.state}</Badge>
                    </td>
                    <td>
                      {j.attempts} / {j.maxRetries + 1}
                    </td>
                    <td>{fmtTime(j.createdAt)}</td>
                    <td>
                      <Json value={j.data} />
                    </td>
                    <td>{j.lastError ? <pre class="json">{j.lastError}</pre> : null}</td>
                    <td>
                      {j.state === 'failed' ? (
                        <ActionButton
                          label="Retry"
                          run={() => api(`/queues/${seg(queue)}/jobs/${seg(j.id)}/retry`, { method: 'POST' })}
                          onDone={refresh}
                        />
                      ) : null}{' '}
                      <ActionButton
                        label="Delete"
                        danger
                        confirm="Delete this job?"
                        run={() => api(`/queues/${seg(queue)}/jobs/${seg(j.id)}`, { method: 'DELETE' })}
                        onDone={refresh}
                      />
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function QueuesPage({ rest, query }: { rest: string[]; query: URLSearchParams }) {
  const [stored, setNames] = useStoredList('fraiseql.dashboard.queues', []);
  // GET /queues lists the queues the backend knows (PostgreSQL); older servers answer 404.
  const known = usePoll(
    () =>
      api<{ queues: string[] }>('/queues').then(
        (r) => r.queues,
        () => [] as string[],
      ),
    10_000,
  );
  const names = [...new Set([...BUILT_INS, ...(known.data ?? []), ...stored])];
  const queue = rest[0];
  const raw = query.get('state') as JobState | null;
  const state = raw && STATES.includes(raw) ? raw : 'failed';
  return (
    <>
      <h1>Queues</h1>
      {queue ? (
        <QueueDetail queue={queue} state={state} />
      ) : (
        <QueueList names={names} stored={stored} setNames={setNames} />
      )}
    </>
  );
}
