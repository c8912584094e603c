import { useState } from 'preact/hooks';
import { ActionButton, Badge, ErrorLine, fmtTime, Json, Loading, Section } from '../components';
import { api, seg } from '../lib/api';
import { usePoll } from '../lib/hooks';

interface Listener {
  listenerId: string;
  role: string;
  healthy: boolean;
  lastHeartbeatAt: string;
  hostname: string;
  pid: number;
}
interface Status {
  listenerId: string;
  group: string;
  role: string;
  leader: string | null;
  epoch: number;
  checkpoint: string | null;
  eventsBehind: number;
  listeners: Listener[];
  healthyListeners: number;
  breakers: Record<string, string>;
  dlqSize: number;
}
interface DlqEntry {
  id: string;
  eventId: string;
  observer: string;
  actionIndex: number;
  action: { type?: string };
  error: string;
  attempts: number;
  createdAt: string;
}
const POLL_MS = 2000;

export function ObserversPage() {
  const status = usePoll(() => api<Status>('/observers'), POLL_MS);
  const dlq = usePoll(() => api<DlqEntry[]>('/observers/dlq?limit=100'), POLL_MS);
  const [note, setNote] = useState<string>();
  const s = status.data;
  const refresh = () => {
    status.refresh();
    dlq.refresh();
  };
  return (
    <>
      <h1>Observers</h1>
      <Section title="Runtime">
        <ErrorLine error={status.error} />
        {!s ? (
          <Loading what="status" />
        ) : (
          <dl class="facts">
            <dt>Group</dt>
            <dd>{s.group}</dd>
            <dt>Leader</dt>
            <dd>{s.leader ? s.leader : <Badge tone="bad">no leader</Badge>}</dd>
            <dt>Epoch</dt>
            <dd>{s.epoch}</dd>
            <dt>Checkpoint</dt>
            <dd>{s.checkpoint ?? 'none'}</dd>
            <dt>Events behind</dt>
            <dd>
              {s.eventsBehind}{' '}
              <Badge tone={s.eventsBehind > 1000 ? 'warn' : 'ok'}>
                {s.eventsBehind > 1000 ? 'lagging' : 'caught up'}
              </Badge>
            </dd>
            <dt>DLQ size</dt>
            <dd>{s.dlqSize}</dd>
          </dl>
        )}
      </Section>
      {s ? (
        <Section title="Listeners">
          <table>
            <caption class="sr-only">Listeners of the group</caption>
            <thead>
              <tr>
                <th scope="col">Listener</th>
                <th scope="col">Role</th>
                <th scope="col">Health</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Host / pid</th>
              </tr>
            </thead>
            <tbody>
              {s.listeners.map((l) => (
                <tr key={l.listenerId}>
                  <th scope="row">{l.listenerId}</th>
                  <td>{l.role}</td>
                  <td>
                    <Badge tone={l.healthy ? 'ok' : 'bad'}>{l.healthy ? 'healthy' : 'unhealthy'}</Badge>
                  </td>
                  <td>{fmtTime(l.lastHeartbeatAt)}</td>
                  <td>
                    {l.hostname} / {l.pid}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Breakers</h3>
          {Object.keys(s.breakers).length === 0 ? <p class="muted">No action has a breaker yet.</p> : null}
          <ul>
            {Object.entries(s.breakers).map(([name, state]) => (
              <li key={name}>
                {name}:{' '}
                <Badge tone={state === 'open' ? 'bad' : state === 'closed' ? 'ok' : 'warn'}>{state}</Badge>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <Section title="Dead-letter queue">
        <ErrorLine error={dlq.error} />
        <ActionButton
          label="Retry all"
          confirm={`Re-run the action of every DLQ entry (${dlq.data?.length ?? 0} shown)?`}
          run={() => api<{ count: number }>('/observers/dlq/retry-all', { method: 'POST' })}
          onDone={(r) => {
            setNote(`Retried ${(r as { count: number }).count} entr(y/ies).`);
            refresh();
          }}
        />
        {note ? <p role="status">{note}</p> : null}
        {!dlq.data ? (
          <Loading what="DLQ" />
        ) : (
          <table>
            <caption class="sr-only">Failed observer actions</caption>
            <thead>
              <tr>
                <th scope="col">Entry</th>
                <th scope="col">Observer</th>
                <th scope="col">Action</th>
                <th scope="col">Event</th>
                <th scope="col">Attempts</th>
                <th scope="col">Error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {dlq.data.length === 0 ? (
                <tr>
                  <td colSpan={7}>The DLQ is empty.</td>
                </tr>
              ) : (
                dlq.data.map((d) => (
                  <tr key={d.id}>
                    <th scope="row">{d.id}</th>
                    <td>{d.observer}</td>
                    <td>
                      #{d.actionIndex} {d.action?.type ?? ''}
                    </td>
                    <td>{d.eventId}</td>
                    <td>{d.attempts}</td>
                    <td>
                      <Json value={d.error} />
                    </td>
                    <td>
                      <ActionButton
                        label="Retry"
                        run={() => api(`/observers/dlq/${seg(d.id)}/retry`, { method: 'POST' })}
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
