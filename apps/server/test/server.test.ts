import { IntegrationService } from '@fraiseql/core';
import { MockCacheProvider } from '@fraiseql/mocks';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { installSignalHandlers, isLoopbackHost, type RunningServer, startServer } from '../src/index.ts';

function integrations(cache = new MockCacheProvider()) {
  const state = { closed: 0 };
  const service = new IntegrationService({ cache });
  return {
    state,
    cache,
    integrations: {
      cache,
      service,
      close: async () => {
        state.closed++;
        await service.close();
      },
    },
  };
}

describe('startServer', () => {
  it('listens on loopback without a token and serves real HTTP', async () => {
    const { integrations: ints, state } = integrations();
    const running = await startServer({
      integrations: ints,
      registry: new Registry(),
      port: 0,
      token: '',
      env: {},
    });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const put = await fetch(`${running.url}/cache/k`, {
        method: 'PUT',
        body: 'v',
        headers: { 'content-type': 'text/plain' },
      });
      expect(put.status).toBe(204);
      const res = await fetch(`${running.url}/cache/k`);
      expect(await res.text()).toBe('v');
    } finally {
      await running.close();
    }
    expect(state.closed).toBe(1);
    // Idempotent.
    await running.close();
    expect(state.closed).toBe(1);
  });

  it('refuses a non-loopback host without a token (IN002 naming FRAISEQL_API_TOKEN), touching nothing', async () => {
    const { integrations: ints, state } = integrations();
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await expect(
        startServer({ integrations: ints, registry: new Registry(), host, port: 0, env: {} }),
      ).rejects.toMatchObject({
        name: 'IntegrationError',
        code: 'IN002',
        message: expect.stringContaining('FRAISEQL_API_TOKEN'),
      });
    }
    expect(state.closed).toBe(0);
  });

  it('binds 0.0.0.0 when a token is set (from env), and then requires it', async () => {
    const { integrations: ints } = integrations();
    const running = await startServer({
      integrations: ints,
      registry: new Registry(),
      host: '0.0.0.0',
      port: 0,
      env: { FRAISEQL_API_TOKEN: 'secret-token' },
    });
    try {
      const port = new URL(running.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/slo`)).status).toBe(401);
      const ok = await fetch(`http://127.0.0.1:${port}/slo`, {
        headers: { authorization: 'Bearer secret-token' },
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it('a port in use is IN002 and leaves the integrations open', async () => {
    const a = integrations();
    const first = await startServer({
      integrations: a.integrations,
      registry: new Registry(),
      port: 0,
      token: '',
    });
    const b = integrations();
    try {
      const port = Number(new URL(first.url).port);
      await expect(
        startServer({ integrations: b.integrations, registry: new Registry(), port, token: '' }),
      ).rejects.toMatchObject({ code: 'IN002', message: expect.stringContaining(String(port)) });
      expect(b.state.closed).toBe(0);
    } finally {
      await first.close();
      await b.integrations.close();
    }
  });

  it('rejects an invalid port with IN002', async () => {
    const { integrations: ints } = integrations();
    await expect(
      startServer({ integrations: ints, registry: new Registry(), port: 70_000, token: '' }),
    ).rejects.toMatchObject({ code: 'IN002' });
  });

  it('close() lets an in-flight request finish, then closes the integrations', async () => {
    const cache = new MockCacheProvider();
    let entered!: () => void;
    const reached = new Promise<void>((r) => {
      entered = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const realGet = cache.get.bind(cache);
    cache.get = async (key: string) => {
      entered();
      await gate;
      return realGet(key);
    };
    await cache.set('slow', 'done');
    const { integrations: ints, state } = integrations(cache);
    const running: RunningServer = await startServer({
      integrations: ints,
      registry: new Registry(),
      port: 0,
      token: '',
    });
    const inFlight = fetch(`${running.url}/cache/slow`);
    await reached;
    const closing = running.close();
    // The listener is gone at once: new connections are refused while the request drains.
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
    expect(state.closed).toBe(0);
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('done');
    await closing;
    expect(state.closed).toBe(1);
  });
});

describe('isLoopbackHost', () => {
  it('accepts loopback addresses only', () => {
    for (const h of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      '0:0:0:0:0:0:0:1',
    ]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'example.com', '', '128.0.0.1', '::2']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});

describe('installSignalHandlers', () => {
  const SIGNAL = 'SIGUSR2' as const;

  it('closes on the first signal then exits 0; a second signal exits 1 at once', async () => {
    const exit = vi.fn();
    let finish!: () => void;
    const close = vi.fn(
      () =>
        new Promise<void>((r) => {
          finish = r;
        }),
    );
    const uninstall = installSignalHandlers({ close }, { signals: [SIGNAL], exit });
    try {
      process.emit(SIGNAL, SIGNAL);
      expect(close).toHaveBeenCalledTimes(1);
      expect(exit).not.toHaveBeenCalled();
      process.emit(SIGNAL, SIGNAL);
      expect(exit).toHaveBeenLastCalledWith(1);
      finish();
      await vi.waitFor(() => expect(exit).toHaveBeenLastCalledWith(0));
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      uninstall();
    }
    expect(process.listenerCount(SIGNAL)).toBe(0);
  });

  it('exits 1 when close fails or outlasts timeoutMs', async () => {
    const failing = vi.fn();
    const u1 = installSignalHandlers(
      { close: () => Promise.reject(new Error('nope')) },
      { signals: [SIGNAL], exit: failing },
    );
    process.emit(SIGNAL, SIGNAL);
    u1();
    await vi.waitFor(() => expect(failing).toHaveBeenCalledWith(1));

    const hanging = vi.fn();
    const u2 = installSignalHandlers(
      { close: () => new Promise(() => {}) },
      { signals: [SIGNAL], exit: hanging, timeoutMs: 20 },
    );
    process.emit(SIGNAL, SIGNAL);
    u2();
    await vi.waitFor(() => expect(hanging).toHaveBeenCalledWith(1), { timeout: 5000 });
  });
});
