import type {
  BulkResult,
  Document,
  EnqueueOptions,
  IndexConfig,
  JobInfo,
  JobState,
  ProviderStatus,
  QueueCapabilities,
  SearchQuery,
  SearchResult,
} from '@fraiseql/core';
import { requestServer } from './commands/remote';

/**
 * The part of `Integrations` the CLI commands use, served by a running `serve` over its HTTP API.
 * While `serve` holds the embedded data directory (PGlite allows one process per directory) the
 * commands cannot open it themselves; they talk to the server instead and print exactly what a
 * direct run prints: same values, same errors (the server's §2 body is turned back into the
 * IntegrationError), same exit codes.
 */
export interface RemoteIntegrations {
  readonly url: string;
  queue: RemoteQueue;
  cache: RemoteCache;
  search: RemoteSearch;
  service: { status(): Promise<Record<string, ProviderStatus>> };
  /** Queue names the server knows (configured, built-in, and those with jobs in the backend). */
  queueNames(): Promise<string[]>;
}

const enc = encodeURIComponent;

type Json = Record<string, unknown>;

async function json<T = Json>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

class RemoteQueue {
  readonly name = 'remote';
  // The server answers these over HTTP for every backend it runs; what it cannot do is its error.
  readonly capabilities: QueueCapabilities = {
    priority: true,
    delay: true,
    dedup: true,
    inspect: true,
    retryById: true,
    pause: true,
  };

  constructor(private readonly url: string) {}

  #stats(queue: string) {
    return requestServer(this.url, `/queues/${enc(queue)}`).then((r) =>
      json<{ length: number; failed: number; paused: boolean }>(r),
    );
  }
  async queueLength(queue: string): Promise<number> {
    return (await this.#stats(queue)).length;
  }
  async failedCount(queue: string): Promise<number> {
    return (await this.#stats(queue)).failed;
  }
  async isPaused(queue: string): Promise<boolean> {
    return (await this.#stats(queue)).paused;
  }
  async listJobs(queue: string, q: { state: JobState; limit?: number; offset?: number }): Promise<JobInfo[]> {
    const params = new URLSearchParams({ state: q.state });
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    if (q.offset !== undefined) params.set('offset', String(q.offset));
    const res = await requestServer(this.url, `/queues/${enc(queue)}/jobs?${params}`);
    return (await json<{ jobs: JobInfo[] }>(res)).jobs;
  }
  async getJob(queue: string, id: string): Promise<JobInfo | null> {
    const res = await requestServer(this.url, `/queues/${enc(queue)}/jobs/${enc(id)}`, { accept: [404] });
    return res.status === 404 ? null : json<JobInfo>(res);
  }
  async retryJob(queue: string, id: string): Promise<boolean> {
    // 404 (absent) and 409 (not failed) are both the provider's `false`.
    const res = await requestServer(this.url, `/queues/${enc(queue)}/jobs/${enc(id)}/retry`, {
      method: 'POST',
      accept: [404, 409],
    });
    return res.ok;
  }
  async deleteJob(queue: string, id: string): Promise<boolean> {
    const res = await requestServer(this.url, `/queues/${enc(queue)}/jobs/${enc(id)}`, {
      method: 'DELETE',
      accept: [404],
    });
    return res.ok;
  }
  async enqueue<T>(queue: string, data: T, opts: EnqueueOptions = {}): Promise<string> {
    const res = await requestServer(this.url, `/queues/${enc(queue)}/jobs`, {
      method: 'POST',
      json: { data, ...opts },
    });
    return (await json<{ id: string }>(res)).id;
  }
  async pause(queue: string): Promise<void> {
    await requestServer(this.url, `/queues/${enc(queue)}/pause`, { method: 'POST' });
  }
  async resume(queue: string): Promise<void> {
    await requestServer(this.url, `/queues/${enc(queue)}/resume`, { method: 'POST' });
  }
}

class RemoteCache {
  readonly name = 'remote';
  constructor(private readonly url: string) {}

  async get(key: string): Promise<Uint8Array | null> {
    const res = await requestServer(this.url, `/cache/${enc(key)}`, { accept: [404] });
    return res.status === 404 ? null : new Uint8Array(await res.arrayBuffer());
  }
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const q = ttlMs === undefined ? '' : `?ttl_ms=${enc(String(ttlMs))}`;
    await requestServer(this.url, `/cache/${enc(key)}${q}`, { method: 'PUT', text: value });
  }
  async delete(key: string): Promise<boolean> {
    const res = await requestServer(this.url, `/cache/${enc(key)}`, { method: 'DELETE' });
    return (await json<{ deleted: boolean }>(res)).deleted;
  }
  async deletePattern(pattern: string): Promise<number> {
    const res = await requestServer(this.url, `/cache?pattern=${enc(pattern)}`, { method: 'DELETE' });
    return (await json<{ deleted: number }>(res)).deleted;
  }
  async ttl(key: string): Promise<number | null> {
    const res = await requestServer(this.url, `/cache/${enc(key)}/ttl`);
    return (await json<{ ttlMs: number | null }>(res)).ttlMs;
  }
}

class RemoteSearch {
  readonly name = 'remote';
  constructor(private readonly url: string) {}

  async search<T = Json>(q: SearchQuery): Promise<SearchResult<T>> {
    const { index, ...body } = q;
    const res = await requestServer(this.url, `/search/${enc(index)}`, { method: 'POST', json: body });
    return json<SearchResult<T>>(res);
  }
  /** `primaryKey`: the field of `data` holding each document's id (the server reads it from there). */
  async indexDocuments(docs: Document[], primaryKey = 'id'): Promise<BulkResult> {
    if (docs.length === 0) return { succeeded: 0, failed: [] };
    const index = docs[0]!.index;
    const res = await requestServer(
      this.url,
      `/search/${enc(index)}/documents?primary_key=${enc(primaryKey)}`,
      { method: 'PUT', json: docs.map((d) => d.data), accept: [207] },
    );
    return json<BulkResult>(res);
  }
  async clearIndex(index: string): Promise<void> {
    await requestServer(this.url, `/search/${enc(index)}/documents`, { method: 'DELETE' });
  }
  async configureIndex(index: string, config: IndexConfig): Promise<void> {
    await requestServer(this.url, `/search/${enc(index)}/settings`, { method: 'PUT', json: config });
  }
}

export function remoteIntegrations(url: string): RemoteIntegrations {
  return {
    url,
    queue: new RemoteQueue(url),
    cache: new RemoteCache(url),
    search: new RemoteSearch(url),
    service: {
      async status() {
        // 503 is "something is unhealthy": still the status the command prints.
        const res = await requestServer(url, '/health', { accept: [503] });
        return (await json<{ providers: Record<string, ProviderStatus> }>(res)).providers;
      },
    },
    async queueNames() {
      return (await json<{ queues: string[] }>(await requestServer(url, '/queues'))).queues;
    },
  };
}
