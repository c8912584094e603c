/**
 * The invalidation bus: how a process tells the others which L1 entries to drop, and the short
 * lease that lets N processes run one `getOrSet` loader between them.
 */

/** One invalidation: keys and/or glob patterns (`["*"]` clears everything). */
export interface BusMessage {
  /** Sender's instance id: a process ignores its own messages. */
  i: string;
  /** Sender's `Date.now()` when it published, for the lag histogram. */
  t: number;
  /** Keys to drop. */
  k?: string[];
  /** Glob patterns to drop. */
  p?: string[];
}

export interface BusHandlers {
  /** A raw payload from the channel (own messages included: the cache filters them by instance id). */
  onPayload(payload: string): void;
  /**
   * The bus connection was lost (`false`) or is back with its subscription confirmed (`true`).
   * Invalidations sent meanwhile were missed, so L1 is not to be trusted across a `false`.
   */
  onState(up: boolean): void;
}

export interface Bus {
  /** `"redis"` or `"postgresql"`. */
  readonly kind: 'redis' | 'postgresql';
  /** Subscribes; resolves once the subscription is active. */
  start(handlers: BusHandlers): Promise<void>;
  /** True while subscribed (a lost connection is false until the resubscription is confirmed). */
  readonly connected: boolean;
  publish(payload: string): Promise<void>;
  /** Takes the lease of `key` for `ms` when nobody holds it; true when taken. */
  acquire(key: string, token: string, ms: number): Promise<boolean>;
  /** Gives the lease back if `token` still holds it. */
  release(key: string, token: string): Promise<void>;
  /** Whether the bus's server answers. */
  healthCheck(): Promise<boolean>;
  close(): Promise<void>;
}

export function encodeMessage(msg: BusMessage): string {
  return JSON.stringify(msg);
}

/** Parses a payload; anything that is not a well-formed message is ignored (null). */
export function decodeMessage(payload: string): BusMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const m = v as Partial<BusMessage>;
  if (typeof m.i !== 'string' || typeof m.t !== 'number') return null;
  const strings = (a: unknown) => Array.isArray(a) && a.every((s) => typeof s === 'string');
  if (m.k !== undefined && !strings(m.k)) return null;
  if (m.p !== undefined && !strings(m.p)) return null;
  return m as BusMessage;
}

/** Channel names: safe for Redis and as a Postgres NOTIFY channel (1-63 bytes, no quoting games). */
export const CHANNEL = /^[A-Za-z0-9_.:-]{1,63}$/;
