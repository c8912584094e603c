import { writeFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, expectKeyboardReachable, launch, shot } from './browser';
import { type Served, serve } from './server';

const XSS_JOB = '<img src=x onerror=alert(1)><script>alert(2)</script>';
const XSS_DOC = '<img src=x onerror=alert(3)> fraise <script>alert(4)</script>';
const XSS_KEY = 'dash:<img src=x onerror=alert(5)>';
const XSS_VALUE = '<script>alert(6)</script>';
const WAIT = { timeout: 20_000 };

let server: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const index = `dash_${Date.now().toString(36)}`;

/** Everything a user reads, as text (the way an XSS payload must appear). */
const mainText = () => page.locator('main').innerText();

/**
 * The embedded providers written out (PGlite under the temp dir, memory cache) plus an observer, so
 * the observers page has a runtime to show; a flow with an http source for the flows page.
 */
const CONFIG = `
[search]
provider = "postgresql"
[cache]
backend = "memory"
[queues]
backend = "postgresql"
[postgres]
embedded_dir = ".fraiseql/pglite"
[observers]
listener_id = "dashboard-listener"
poll_interval_ms = 500
[[observers.observer]]
name = "order-created"
entity = "Order"
events = ["INSERT"]
actions = [ { type = "webhook", url_env = "DASHBOARD_HOOK_URL" } ]
`;
const FLOWS = {
  flows: {
    inbox: {
      source: { type: 'http' },
      steps: [
        { type: 'transform', name: 'shape', mapping: { note: '$.note' } },
        { type: 'route', name: 'out', routes: [{ to: { queue: 'inbox-out' } }] },
      ],
    },
  },
};

beforeAll(async () => {
  [server, browser] = await Promise.all([
    serve({ config: CONFIG, flows: FLOWS, env: { DASHBOARD_HOOK_URL: 'http://127.0.0.1:9/hook' } }),
    launch(),
  ]);
  // bypassCSP only so the test can inject axe-core inline; it also means escaping, not the CSP,
  // is what keeps the XSS payloads below inert.
  context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const settings = await server.call(`/search/${index}/settings`, {
    method: 'PUT',
    body: { searchable: ['title'], filterable: ['category'] },
  });
  expect(settings.status).toBe(204);
  const docs = await server.call(`/search/${index}/documents`, {
    method: 'PUT',
    body: [
      { id: 'a', title: XSS_DOC, category: 'berries' },
      { id: 'b', title: 'fraise des bois', category: 'wild' },
    ],
  });
  expect(docs.status).toBe(200);
  expect(
    (await server.call(`/cache/${encodeURIComponent(XSS_KEY)}`, { method: 'PUT', text: XSS_VALUE })).status,
  ).toBe(204);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

describe('dashboard in Chromium against the real server', () => {
  it('redirects a browser from / to /ui/ and asks for the token: none, wrong, right', async () => {
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    const json = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toContain('application/json');
    await page.getByLabel('API token').waitFor(WAIT);
    await shot(page, 'login');
    await expectAccessible(page);

    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').innerText(), WAIT).toContain('rejected');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await page.getByLabel('API token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor(WAIT);
    const stored = await page.evaluate(() => Object.values(sessionStorage));
    expect(stored).toEqual([server.token]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(page.url()).not.toContain(server.token);
  });

  it('overview: providers, breakers and SLO budgets with a chart', async () => {
    await page.goto(`${server.url}/ui/#/overview`);
    const providers = page.getByRole('region', { name: 'Providers' });
    await providers.getByRole('cell', { name: 'closed' }).first().waitFor(WAIT);
    const text = await providers.innerText();
    expect(text).toMatch(/queue:/);
    expect(text).toMatch(/healthy/);
    const slo = page.getByRole('region', { name: 'SLO error budgets' });
    await slo.getByRole('rowheader', { name: 'queue_enqueue' }).waitFor(WAIT);
    // Two polls at least, so the chart has a line to draw.
    const points = () => slo.locator('svg.chart polyline').first().getAttribute('points');
    await expect.poll(async () => (await points())?.split(' ').length ?? 0, WAIT).toBeGreaterThanOrEqual(2);
    await shot(page, 'overview');
    await expectAccessible(page);
    await expectKeyboardReachable(page);
  });

  it('a failed job is found in the UI, retried, and completes', async () => {
    const res = await server.call('/queues/flaky/jobs', {
      method: 'POST',
      body: { data: { note: XSS_JOB }, maxRetries: 0 },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    await page.goto(`${server.url}/ui/#/queues`);
    await page.getByLabel('Watch queue').fill('flaky');
    await page.getByRole('button', { name: 'Add' }).click();
    const row = page.getByRole('row', { name: /flaky/ });
    await expect.poll(() => row.getByRole('cell').nth(1).innerText(), WAIT).toBe('1');
    await shot(page, 'queues');
    await expectAccessible(page);
    await expectKeyboardReachable(page);

    await row.getByRole('link', { name: 'Failed jobs' }).click();
    const job = page.locator(`tr[data-job-id="${id}"]`);
    await job.waitFor(WAIT);
    expect(await job.innerText()).toContain('flaky handler: downstream is down');
    expect(await job.innerText()).toContain(XSS_JOB);
    expect(await job.locator('img, script').count()).toBe(0);
    await shot(page, 'queue-failed');
    await expectAccessible(page);
    await expectKeyboardReachable(page);

    writeFileSync(server.flag, 'ok');
    await job.getByRole('button', { name: 'Retry' }).click();
    await job.waitFor({ state: 'detached', ...WAIT });
    await page.getByRole('link', { name: 'completed' }).click();
    const done = page.locator(`tr[data-job-id="${id}"]`);
    await done.waitFor(WAIT);
    expect(await done.innerText()).toContain('completed');
    await shot(page, 'queue-completed');
  });

  it('deletes a job and retries all failed jobs, each after a confirmation', async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const res = await server.call('/queues/broken/jobs', {
        method: 'POST',
        body: { data: { n }, maxRetries: 0 },
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    await page.goto(`${server.url}/ui/#/queues/broken?state=failed`);
    const rows = ids.map((id) => page.locator(`tr[data-job-id="${id}"]`));
    await rows[0]!.waitFor(WAIT);
    await rows[1]!.waitFor(WAIT);
    await rows[0]!.getByRole('button', { name: 'Delete' }).click();
    await rows[0]!.getByRole('button', { name: 'Yes, delete' }).click();
    await rows[0]!.waitFor({ state: 'detached', ...WAIT });
    expect((await server.call(`/queues/broken/jobs/${ids[0]}`)).status).toBe(404);

    await page.getByRole('button', { name: 'Retry all failed' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm Retry all failed' });
    await expect.poll(() => confirm.innerText(), WAIT).toContain('all 1 failed job');
    await page.getByRole('button', { name: 'Yes, retry all failed' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), WAIT).toBe('Retried 1 job(s).');
    const job = (await (await server.call(`/queues/broken/jobs/${ids[1]}`)).json()) as {
      attempts: number;
      state: string;
    };
    // Back to pending with attempts reset, or already picked up again by the worker.
    expect(['pending', 'running', 'failed']).toContain(job.state);
  });

  it('pauses and resumes a queue, with the state as text', async () => {
    await page.goto(`${server.url}/ui/#/queues/flaky?state=pending`);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor(WAIT);
    expect(await page.getByRole('region', { name: 'Queue flaky' }).innerText()).toContain('paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor(WAIT);
  });

  it('search: filter builder, highlighted hits, documents shown as text', async () => {
    await page.goto(`${server.url}/ui/#/search`);
    await page.getByLabel('Open index').fill(index);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByLabel('Query', { exact: true }).fill('fraise');
    await page.getByLabel('Highlight fields').fill('title');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), WAIT).toMatch(/^2 hit/);
    expect(await page.locator('table mark').count()).toBeGreaterThan(0);
    expect((await page.locator('table mark').first().innerText()).toLowerCase()).toBe('fraise');
    expect(await mainText()).toContain('<img src=x onerror=alert(3)>');
    expect(await page.locator('main img, main table script').count()).toBe(0);
    await shot(page, 'search');

    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByLabel('Field', { exact: true }).fill('category');
    await page.getByLabel('Value', { exact: true }).fill('wild');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), WAIT).toMatch(/^1 hit/);
    expect(await page.getByRole('rowheader').innerText()).toBe('b');
    await shot(page, 'search-filtered');
    await expectAccessible(page);
    await expectKeyboardReachable(page);
  });

  it('cache: a key and its value are text; delete by pattern previews the count', async () => {
    await page.goto(`${server.url}/ui/#/cache`);
    await page.getByRole('textbox', { name: 'Key' }).fill(XSS_KEY);
    await page.getByRole('button', { name: 'Get' }).click();
    await expect.poll(mainText, WAIT).toContain(XSS_VALUE);
    expect(await mainText()).toContain(XSS_KEY);
    expect(await page.locator('main img, main script').count()).toBe(0);

    await page.getByLabel('Glob pattern').fill(XSS_KEY);
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), WAIT).toBe('Matches 1 key.');
    await shot(page, 'cache');
    await expectAccessible(page);
    await expectKeyboardReachable(page);
    await page.getByRole('button', { name: 'Delete matching keys' }).click();
    await page.getByRole('button', { name: 'Yes, delete matching keys' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), WAIT).toBe('Deleted 1 key(s).');
    expect((await server.call(`/cache/${encodeURIComponent(XSS_KEY)}`)).status).toBe(404);
  });

  it('observers: leader, epoch, events behind, listeners, DLQ', async () => {
    await page.goto(`${server.url}/ui/#/overview`);
    await page.getByRole('link', { name: 'Observers' }).click();
    const runtime = page.getByRole('region', { name: 'Runtime' });
    await runtime.getByText('dashboard-listener').first().waitFor(WAIT);
    const text = await runtime.innerText();
    expect(text).toMatch(/Epoch\s*\d+/);
    expect(text).toMatch(/Events behind\s*0/);
    await page.getByRole('rowheader', { name: 'dashboard-listener' }).waitFor(WAIT);
    await page.getByText('The DLQ is empty.').waitFor(WAIT);
    await shot(page, 'observers');
    await expectAccessible(page);
    await expectKeyboardReachable(page);
  });

  it('flows: counters, stop/start, live logs', async () => {
    await page.goto(`${server.url}/ui/#/flows/inbox`);
    const row = page.getByRole('row', { name: /^inbox/ });
    await row.getByText('running').waitFor(WAIT);
    const posted = await server.call('/flows/inbox/messages', { method: 'POST', body: { note: XSS_JOB } });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    // The logs table polls: the delivery shows up without a reload.
    const logs = page.getByRole('region', { name: 'Logs: inbox' });
    await logs.getByRole('row', { name: new RegExp(`delivered.*${id}`) }).waitFor(WAIT);
    await expect.poll(() => row.getByRole('cell').nth(1).innerText(), WAIT).toBe('1');
    await shot(page, 'flows');
    await expectAccessible(page);
    await expectKeyboardReachable(page);
    await row.getByRole('button', { name: 'Stop inbox' }).click();
    await row.getByText('stopped').waitFor(WAIT);
    await row.getByRole('button', { name: 'Start inbox' }).click();
    await row.getByText('running').waitFor(WAIT);
  });

  it('hides the observers and flows pages when their routes are not there', async () => {
    await page.route('**/observers', (r) =>
      r.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"error":{"code":"IN008","message":"Route not found"}}',
      }),
    );
    await page.route('**/flows', (r) =>
      r.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"IN004","message":"Flows are not configured"}}',
      }),
    );
    await page.goto(`${server.url}/ui/#/overview`);
    await page.reload();
    const nav = page.getByRole('navigation', { name: 'Pages' });
    await nav.waitFor(WAIT);
    await page.getByRole('region', { name: 'Providers' }).waitFor(WAIT);
    const text = await nav.innerText();
    expect(text).toContain('Queues');
    expect(text).not.toContain('Observers');
    expect(text).not.toContain('Flows');
    await page.unrouteAll();
  });

  it('a token that stops working sends the user back to the login form', async () => {
    await page.evaluate(() => sessionStorage.setItem('fraiseql.dashboard.token', 'revoked'));
    await page.goto(`${server.url}/ui/#/overview`);
    await page.getByLabel('API token').waitFor(WAIT);
    expect(await page.getByRole('alert').innerText()).toContain('403');
  });

  it('no script from any payload ran', () => {
    expect(dialogs).toEqual([]);
  });
});
