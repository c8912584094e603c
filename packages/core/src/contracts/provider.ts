/** What every provider has, whatever its contract. */
export interface Provider {
  /** Backend name: `"redis"`, `"memory"`, `"postgresql"`, `"meilisearch"`, `"mock"`, … */
  readonly name: string;
  /**
   * True when the backend answers. Resolves `false` (or rejects with an IntegrationError) when it
   * is down — never waits longer than the provider's health-check timeout.
   */
  healthCheck(): Promise<boolean>;
  /** Releases sockets, timers and workers so the process can exit. Idempotent. */
  close(): Promise<void>;
}
