import { ErrorCode, IntegrationError, withTimeout } from '@fraiseql/core';
import type { algoliasearch } from 'algoliasearch';
import { type CallContext, mapAlgoliaError, PROVIDER, timeoutError } from './errors';

export type Client = ReturnType<typeof algoliasearch>;

/**
 * The client with the provider's rules around every call: refused once closed, bounded by
 * `timeoutMs` (IN102), errors mapped to IntegrationErrors with the API key scrubbed.
 */
export class AlgoliaCalls {
  private readonly stop = new AbortController();

  constructor(
    readonly client: Client,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    readonly taskTimeoutMs: number,
  ) {}

  /** Aborted by `close()`: pending waits end early, later calls fail. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Runs one client call under the deadline and maps its errors. */
  async call<T>(ctx: CallContext, fn: (client: Client) => Promise<T>): Promise<T> {
    if (this.stop.signal.aborted) {
      throw IntegrationError.provider(
        ErrorCode.ProviderUnavailable,
        PROVIDER,
        `[algolia] ${ctx.op}: provider is closed`,
      );
    }
    const run = fn(this.client);
    // The losing side of the race must not surface as an unhandled rejection.
    run.catch(() => undefined);
    try {
      return await withTimeout(run, this.timeoutMs, () => timeoutError(ctx, this.timeoutMs, this.apiKey));
    } catch (err) {
      throw mapAlgoliaError(err, ctx, this.apiKey);
    }
  }

  close(): void {
    this.stop.abort();
  }
}
