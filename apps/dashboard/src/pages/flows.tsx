import { ActionButton, Badge, ErrorLine, Json, Loading, Section } from '../components';
import { api, seg } from '../lib/api';
import { href, usePoll } from '../lib/hooks';

interface Flow {
  name: string;
  state: string;
  processed: number;
  failed: number;
  dlq: number;
  inFlight: number;
  lastError?: string;
}
interface LogRecord {
  time: string;
  level: string;
  event: string;
  messageId?: string;
  step?: string;
  detail?: string;
  payload?: unknown;
}
const POLL_MS = 2000;
const tone = (s: string) => (s === 'running' ? 'ok' : s === 'failed' || s === 'error' ? 'bad' : 'idle');

function Logs({ name }: { name: string }) {
  const logs = usePoll(() => api<LogRecord[]>(`/flows/${seg(name)}/logs?limit=200`), POLL_MS, [name]);
  return (
    <Section title={`Logs: ${name}`}>
      <ErrorLine error={logs.error} />
      {!logs.data ? (
        <Loading what="logs" />
      ) : (
        <table>
          <caption class="sr-only">{`Latest log records of ${name}, newest first, refreshed every ${POLL_MS / 1000} s`}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Level</th>
              <th scope="col">Event</th>
              <th scope="col">Step</th>
              <th scope="col">Message id</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {[...logs.data].reverse().map((l, i) => (
              <tr key={i}>
                <td>{l.time}</td>
                <td>
                  <Badge tone={l.level === 'error' ? 'bad' : l.level === 'warn' ? 'warn' : 'idle'}>
                    {l.level}
                  </Badge>
                </td>
                <td>{l.event}</td>
                <td>{l.step ?? ''}</td>
                <td>{l.messageId ?? ''}</td>
                <td>{l.detail ?? (l.payload !== undefined ? <Json value={l.payload} /> : '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

export function FlowsPage({ rest }: { rest: string[] }) {
  const flows = usePoll(() => api<Flow[]>('/flows'), POLL_MS);
  const selected = rest[0];
  return (
    <>
      <h1>Flows</h1>
      <Section title="Flows">
        <ErrorLine error={flows.error} />
        {!flows.data ? (
          <Loading what="flows" />
        ) : (
          <table>
            <caption class="sr-only">State and counters per flow</caption>
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">State</th>
                <th scope="col">Processed</th>
                <th scope="col">Failed</th>
                <th scope="col">DLQ</th>
                <th scope="col">In flight</th>
                <th scope="col">Last error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {flows.data.map((f) => (
                <tr key={f.name}>
                  <th scope="row">
                    <a href={href(['flows', f.name])}>{f.name}</a>
                  </th>
                  <td>
                    <Badge tone={tone(f.state)}>{f.state}</Badge>
                  </td>
                  <td>{f.processed}</td>
                  <td>{f.failed}</td>
                  <td>{f.dlq}</td>
                  <td>{f.inFlight}</td>
                  <td>{f.lastError ?? ''}</td>
                  <td>
                    {f.state === 'running' ? (
                      <ActionButton
                        label={`Stop ${f.name}`}
                        run={() => api(`/flows/${seg(f.name)}/stop`, { method: 'POST' })}
                        onDone={flows.refresh}
                      />
                    ) : (
                      <ActionButton
                        label={`Start ${f.name}`}
                        run={() => api(`/flows/${seg(f.name)}/start`, { method: 'POST' })}
                        onDone={flows.refresh}
                      />
                    )}{' '}
                    <a class="btn" href={href(['flows', f.name])}>
                      Logs
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      {selected ? <Logs name={selected} /> : null}
    </>
  );
}
