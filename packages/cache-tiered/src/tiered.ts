import { randomUUID } from 'node:crypto';
import {
  assertCacheKey,
  assertTtl,
  type CacheProvider,
  ErrorCode,
  fromJson,
  type GetOrSetOptions,
  globToRegExp,
  IntegrationError,
  SingleFlight,
  toJson,
} from '@fraiseql/core';
import type { Bus } from './bus';
import { decodeMessage } from './bus';
import { type L1Read, L1Tier } from './l1';
import type { TierMetrics } from './metrics';
import type { BusEvent } from './options';
import { Outbox } from './outbox';

/** A read or write of a key in flight: any invalidation of the key meanwhile bumps `v`. */
interface Pending {
  v: number;
  n: number;
}
interface Ticket {
  p: Pending;
  v: number;
  epoch: number;
}

export interface TieredSettings {
  l1: CacheProvider;
  l2: CacheProvider;
  bus: Bus | undefined;
  metrics: TierMetrics;
  l1TtlMs: number;
  graceMs: number;
  defaultTtlMs: number | undefined;
  leaseMs: number;
  onBusMessage: ((e: BusEvent) => void) | undefined;
  onError: ((err: Error) => void) | undefined;
}

const MISS: L1Read = { state: 'miss' };
const encoder = new TextEncoder();
const bytesOf = (v: Uint8Array | string): Uint8Array => (typeof v === 'string' ? encoder.encode(v) : v);

/**
 * L1 (in process) over L2 (shared), kept coherent by a bus. Reads: L1, then L2 (filling L1 for the
 * remaining TTL, capped by `l1TtlMs`), then `getOrSet`'s loader. Writes: L2, then L1, then one bus
 * message per tick. A fill or write only lands in L1 when no invalidation of its key (local,
 * remote or a bus loss) happened while it was in flight, so L1 never keeps a value L2 replaced.
 */
export class TieredCache implements CacheProvider {
  readonly name = 'tiered';
  /** This process's id on the bus: its own messages are ignored. */
  readonly instanceId = randomUUID();
  readonly l1: CacheProvider;
  readonly l2: CacheProvider;
  readonly #s: TieredSettings;
  readonly #tier: L1Tier;
  readonly #bus: Bus | undefined;
  readonly #m: TierMetrics;
  readonly #flight = new SingleFlight<string>();
  readonly #pending = new Map<string, Pending>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #outbox: Outbox | undefined;
  /** No grace: L1 holds plain values, so reads can call it directly. */
  readonly #plain: boolean;
  /** Bumped on every bus loss and recovery: fills begun in another epoch never land. */
  #epoch = 0;
  #closed: Promise<void> | undefined;

  constructor(s: TieredSettings) {
    this.#s = s;
    this.l1 = s.l1;
    this.l2 = s.l2;
    this.#bus = s.bus;
    this.#m = s.metrics;
    this.#tier = new L1Tier(s.l1, s.graceMs);
    this.#plain = s.graceMs === 0;
    if (s.bus) this.#outbox = new Outbox(s.bus, this.instanceId, s.metrics, (err) => s.onError?.(err));
  }

  /** Subscribes the bus (called once by the factory). */
  async start(): Promise<void> {
    await this.#bus?.start({
      onPayload: (payload) => this.#onPayload(payload),
      onState: (up) => this.#onBusState(up),
    });
  }

  /** Whether L1 may answer: always without a bus, else only while the bus is subscribed. */
  get #trusted(): boolean {
    return this.#bus === undefined || this.#bus.connected;
  }

  #open(key: string): void {
    assertCacheKey(key);
    if (this.#closed)
      throw new IntegrationError(ErrorCode.CacheConnectionFailed, '[cache-tiered] the cache is closed', {
        provider: this.name,
      });
  }

  // -- reads -----------------------------------------------------------------------------------

  get(key: string): Promise<Uint8Array | null> {
    if (this.#plain && this.#closed === undefined && this.#trusted) {
      // The hot path (no grace, bus up): one L1 call. L1 validates the key like any provider.
      return this.l1.get(key).then((v) => {
        if (v === null) return this.#getThrough(key, MISS);
        this.#m.t.l1Hit++;
        return v;
      });
    }
    return this.#getSlow(key);
  }

  async #getSlow(key: string): Promise<Uint8Array | null> {
    this.#open(key);
    const r = await this.#tier.read(key, this.#trusted);
    if (r.state === 'fresh') {
      this.#m.t.l1Hit++;
      return bytesOf(r.value);
    }
    return this.#getThrough(key, r);
  }

  async #getThrough(key: string, r: L1Read): Promise<Uint8Array | null> {
    this.#m.t.l1Miss++;
    const v = await this.#fromL2(key, r);
    return v === null ? null : bytesOf(v);
  }

  getJson<T>(key: string): Promise<T | null> {
    if (this.#plain && this.#closed === undefined && this.#trusted) {
      return this.l1.getJson<T>(key).then((v) => {
        if (v === null) return this.#getJsonThrough<T>(key, MISS);
        this.#m.t.l1Hit++;
        return v;
      });
    }
    return this.#getJsonSlow<T>(key);
  }

  async #getJsonSlow<T>(key: string): Promise<T | null> {
    this.#open(key);
    const r = await this.#tier.readJson<T>(key, this.#trusted);
    if (r.hit) {
      this.#m.t.l1Hit++;
      return r.value;
    }
    return this.#getJsonThrough<T>(key, r.read);
  }

  async #getJsonThrough<T>(key: string, r: L1Read): Promise<T | null> {
    this.#m.t.l1Miss++;
    const v = await this.#fromL2(key, r);
    return v === null ? null : fromJson<T>(v, key);
  }

  async exists(key: string): Promise<boolean> {
    this.#open(key);
    const r = await this.#tier.read(key, this.#trusted);
    if (r.state === 'fresh') return true;
    return this.l2.exists(key);
  }

  async ttl(key: string): Promise<number | null> {
    this.#open(key);
    // L1 keeps a capped copy; only L2 knows the entry's real remaining time.
    return this.l2.ttl(key);
  }

  /** L2 read, filling L1; with grace, the stale L1 value when L2 fails. */
  async #fromL2(key: string, l1: L1Read): Promise<Uint8Array | string | null> {
    const t = this.#begin(key);
    try {
      let value: Uint8Array | null;
      let ttl: number | null;
      try {
        [value, ttl] = await Promise.all([this.l2.get(key), this.l2.ttl(key)]);
      } catch (err) {
        const stale = this.#stale(l1);
        if (stale !== undefined) return stale;
        throw err;
      }
      if (value === null) {
        this.#m.t.l2Miss++;
        return null;
      }
      this.#m.t.l2Hit++;
      if (ttl !== null && ttl > 0 && this.#valid(t)) await this.#put(key, value, ttl);
      return value;
    } finally {
      this.#end(key, t);
    }
  }

  #stale(l1: L1Read): Uint8Array | string | undefined {
    if (l1.state !== 'stale' || Date.now() >= l1.servableUntil) return undefined;
    this.#m.t.staleServed++;
    return l1.value;
  }

  // -- writes ----------------------------------------------------------------------------------

  async set(key: string, value: Uint8Array | string, ttlMs?: number): Promise<void> {
    this.#open(key);
    const ttl = ttlMs === undefined ? undefined : assertTtl(ttlMs);
    // A caller mutating its buffer after set must change neither tier.
    const stored = typeof value === 'string' ? value : value instanceof Uint8Array ? value.slice() : value;
    await this.#write(key, () => this.l2.set(key, stored, ttl), stored, ttl ?? this.#s.defaultTtlMs);
  }

  async setJson<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    this.#open(key);
    const ttl = ttlMs === undefined ? undefined : assertTtl(ttlMs);
    const json = toJson(value, ErrorCode.CacheSerializationError, `Value of cache key "${key}"`);
    await this.#write(key, () => this.l2.set(key, json, ttl), json, ttl ?? this.#s.defaultTtlMs);
  }

  async delete(key: string): Promise<boolean> {
    this.#open(key);
    return this.#write(key, () => this.l2.delete(key));
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.#open(key);
    assertTtl(ttlMs);
    return this.#write(key, () => this.l2.expire(key, ttlMs));
  }

  async incr(key: string, delta = 1): Promise<number> {
    this.#open(key);
    return this.#write(key, () => this.l2.incr(key, delta));
  }

  async deletePattern(pattern: string): Promise<number> {
    if (this.#closed) this.#open('closed');
    const n = await this.l2.deletePattern(pattern);
    this.#invalidatePattern(pattern);
    await this.#tier.dropPattern(pattern);
    await this.#outbox?.send(undefined, pattern);
    return n;
  }

  /**
   * L2 first (it is the truth: a failed write changes nothing), then L1 — the new value when
   * nothing invalidated the key meanwhile, else the key is dropped — then the bus message.
   */
  async #write<R>(
    key: string,
    l2: () => Promise<R>,
    l1Value?: Uint8Array | string,
    l1Ttl?: number,
  ): Promise<R> {
    const t = this.#begin(key);
    let result: R;
    try {
      result = await l2();
      const untouched = this.#valid(t);
      // Fills that read the old value must not land after this write.
      t.p.v++;
      if (l1Value !== undefined && l1Ttl !== undefined && untouched) await this.#put(key, l1Value, l1Ttl);
      else await this.#tier.drop(key);
    } finally {
      this.#end(key, t);
    }
    await this.#outbox?.send(key);
    return result;
  }

  async #put(key: string, value: Uint8Array | string, ttlMs: number): Promise<void> {
    try {
      await this.#tier.put(key, value, Math.min(ttlMs, this.#s.l1TtlMs));
    } catch {
      // L1 is an optimisation: a value it refuses (size bound) is read from L2 next time.
      await this.#tier.drop(key).catch(() => false);
    }
  }

  // -- getOrSet --------------------------------------------------------------------------------

  getOrSet<T>(key: string, load: () => Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    try {
      this.#open(key);
      if (opts?.ttlMs !== undefined) assertTtl(opts.ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#plain && this.#trusted) {
      // A hit needs no flight; a miss joins (or starts) the key's flight, which reads L1 again.
      return this.l1.getJson<T>(key).then((v) => {
        if (v === null) return this.#flight.run(key, () => this.#getOrLoad(key, load, opts?.ttlMs));
        this.#m.t.l1Hit++;
        return v;
      });
    }
    return this.#flight.run(key, () => this.#getOrLoad(key, load, opts?.ttlMs));
  }

  async #getOrLoad<T>(key: string, load: () => Promise<T>, ttlMs: number | undefined): Promise<T> {
    const r = await this.#tier.readJson<T>(key, this.#trusted);
    if (r.hit) {
      this.#m.t.l1Hit++;
      return r.value;
    }
    this.#m.t.l1Miss++;
    const cached = await this.#fromL2(key, r.read);
    if (cached !== null) return fromJson<T>(cached, key);
    const stale = r.read.state === 'stale' ? r.read : MISS;
    return this.#bus
      ? this.#leasedLoad(this.#bus, key, load, ttlMs, stale)
      : this.#load(key, load, ttlMs, stale);
  }

  async #load<T>(key: string, load: () => Promise<T>, ttlMs: number | undefined, stale: L1Read): Promise<T> {
    this.#m.t.loads++;
    let value: T;
    try {
      value = await load();
    } catch (err) {
      const v = this.#stale(stale);
      if (v !== undefined) return fromJson<T>(v, key);
      throw err;
    }
    if (value !== undefined) await this.setJson(key, value, ttlMs);
    return value;
  }

  /**
   * One loader across processes: whoever takes the lease loads; the others wait for its value
   * (woken by its bus message, else polling L2) and load themselves only when the lease comes
   * free without a value (the load failed) or the holder outlives `leaseMs`.
   */
  async #leasedLoad<T>(
    bus: Bus,
    key: string,
    load: () => Promise<T>,
    ttlMs: number | undefined,
    stale: L1Read,
  ): Promise<T> {
    const deadline = Date.now() + this.#s.leaseMs;
    let pause = 2;
    for (;;) {
      const token = randomUUID();
      let held: boolean;
      try {
        held = await bus.acquire(key, token, this.#s.leaseMs);
      } catch {
        // No lease to be had (bus down): loading twice beats not loading.
        return this.#load(key, load, ttlMs, stale);
      }
      if (held) {
        try {
          // It may have been stored between our L2 miss and taking the lease.
          const late = await this.#fromL2(key, MISS);
          if (late !== null) return fromJson<T>(late, key);
          return await this.#load(key, load, ttlMs, stale);
        } finally {
          await bus.release(key, token);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) return this.#load(key, load, ttlMs, stale);
      await this.#waitFor(key, Math.min(pause, left));
      pause = Math.min(pause * 2, 100);
      const v = await this.#fromL2(key, stale);
      if (v !== null) return fromJson<T>(v, key);
    }
  }

  #waitFor(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const s = set;
      const done = () => {
        clearTimeout(timer);
        s.delete(done);
        if (s.size === 0 && this.#waiters.get(key) === s) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      s.add(done);
    });
  }

  // -- invalidation ----------------------------------------------------------------------------

  #begin(key: string): Ticket {
    let p = this.#pending.get(key);
    if (!p) {
      p = { v: 0, n: 0 };
      this.#pending.set(key, p);
    }
    p.n++;
    return { p, v: p.v, epoch: this.#epoch };
  }

  #end(key: string, t: Ticket): void {
    if (--t.p.n === 0 && this.#pending.get(key) === t.p) this.#pending.delete(key);
  }

  #valid(t: Ticket): boolean {
    return t.p.v === t.v && t.epoch === this.#epoch && this.#trusted;
  }

  #invalidatePattern(pattern: string): RegExp | undefined {
    if (this.#pending.size === 0 && this.#waiters.size === 0) return undefined;
    const re = globToRegExp(pattern);
    for (const [k, p] of this.#pending) if (re.test(k)) p.v++;
    return re;
  }

  #onPayload(payload: string): void {
    const msg = decodeMessage(payload);
    if (msg === null || msg.i === this.instanceId || this.#closed) return;
    const lagMs = Math.max(0, Date.now() - msg.t);
    this.#m.t.busReceived++;
    this.#m.busLag.observe(lagMs / 1000);
    const keys = msg.k ?? [];
    const patterns = msg.p ?? [];
    for (const k of keys) {
      const p = this.#pending.get(k);
      if (p) p.v++;
      this.#tier.drop(k).catch(() => false);
      for (const wake of this.#waiters.get(k) ?? []) wake();
    }
    for (const pattern of patterns) {
      const re = this.#invalidatePattern(pattern);
      this.#tier.dropPattern(pattern).catch(() => 0);
      if (re) for (const [k, set] of this.#waiters) if (re.test(k)) for (const wake of set) wake();
    }
    this.#s.onBusMessage?.({ keys, patterns, lagMs });
  }

  #onBusState(up: boolean): void {
    this.#epoch++;
    if (!up) {
      this.#m.t.busErrors++;
      this.#tier.distrust(Date.now()).catch(() => {});
    }
  }

  // -- provider --------------------------------------------------------------------------------

  async healthCheck(): Promise<boolean> {
    const [l1, l2] = await Promise.all([this.l1.healthCheck(), this.l2.healthCheck()]);
    return l1 && l2;
  }

  /** Both tiers and the bus, for health pages: the cache is healthy while L1 and L2 are. */
  async health(): Promise<TieredHealth> {
    const probe = (p: Promise<boolean>) =>
      p.then(
        (ok) => ok === true,
        () => false,
      );
    const [l1, l2, bus] = await Promise.all([
      probe(this.l1.healthCheck()),
      probe(this.l2.healthCheck()),
      this.#bus ? probe(this.#bus.healthCheck()) : Promise.resolve(false),
    ]);
    return {
      healthy: l1 && l2,
      l1: { name: this.l1.name, healthy: l1 },
      l2: { name: this.l2.name, healthy: l2 },
      bus: this.#bus ? { kind: this.#bus.kind, connected: this.#bus.connected, healthy: bus } : null,
    };
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#outbox?.flush();
      this.#m.retire();
      const results = await Promise.allSettled([this.#bus?.close(), this.l1.close(), this.l2.close()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.#closed;
  }
}

export interface TieredHealth {
  healthy: boolean;
  l1: { name: string; healthy: boolean };
  l2: { name: string; healthy: boolean };
  bus: { kind: 'redis' | 'postgresql'; connected: boolean; healthy: boolean } | null;
}
