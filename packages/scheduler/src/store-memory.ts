import type { ScheduleDef } from './definition';
import type { ScheduleStore, StoredSchedule, TickRef } from './store';

interface ClaimRow {
  owner: string;
  claimedMs: number;
  jobId: string | null;
}

/** Schedules and claims in this process only: for tests and single-process apps. */
export class MemoryScheduleStore implements ScheduleStore {
  readonly name = 'memory';
  #version = 0;
  readonly #schedules = new Map<string, StoredSchedule>();
  readonly #claims = new Map<string, Map<number, ClaimRow>>();

  async init(): Promise<void> {}

  #scanned: number | null = null;

  async sync(nowMs: number): Promise<{ version: string; scannedMs: number | null }> {
    const scannedMs = this.#scanned;
    this.#scanned = Math.max(scannedMs ?? nowMs, nowMs);
    return { version: String(this.#version), scannedMs };
  }

  async put(def: ScheduleDef, nowMs: number): Promise<void> {
    const prev = this.#schedules.get(def.id);
    this.#schedules.set(def.id, {
      def: structuredClone(def),
      createdAtMs: prev?.createdAtMs ?? nowMs,
      fired: prev?.fired ?? 0,
      lastTick: prev?.lastTick ?? null,
      lastJobId: prev?.lastJobId ?? null,
    });
    this.#version++;
  }

  async remove(id: string): Promise<boolean> {
    this.#claims.delete(id);
    const had = this.#schedules.delete(id);
    if (had) this.#version++;
    return had;
  }

  async get(id: string): Promise<StoredSchedule | null> {
    const s = this.#schedules.get(id);
    return s ? structuredClone(s) : null;
  }

  async all(): Promise<StoredSchedule[]> {
    return [...this.#schedules.values()]
      .sort((a, b) => (a.def.id < b.def.id ? -1 : 1))
      .map((s) => structuredClone(s));
  }

  async claim(ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    const won: TickRef[] = [];
    for (const t of ticks) {
      const s = this.#schedules.get(t.id);
      if (!s || (s.def.limit !== undefined && s.fired >= s.def.limit)) continue;
      const rows = this.#claims.get(t.id) ?? new Map<number, ClaimRow>();
      this.#claims.set(t.id, rows);
      if (rows.has(t.tick)) continue;
      rows.set(t.tick, { owner, claimedMs: Math.max(nowMs, t.tick), jobId: null });
      s.fired++;
      s.lastTick = Math.max(s.lastTick ?? t.tick, t.tick);
      won.push(t);
    }
    return won;
  }

  async complete(done: (TickRef & { jobId: string })[]): Promise<void> {
    for (const d of done) {
      const row = this.#claims.get(d.id)?.get(d.tick);
      if (row) row.jobId = d.jobId;
      const s = this.#schedules.get(d.id);
      if (s && s.lastTick === d.tick) s.lastJobId = d.jobId;
    }
  }

  async touch(ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    return ticks.filter((t) => {
      const row = this.#claims.get(t.id)?.get(t.tick);
      if (!row || row.owner !== owner || row.jobId !== null) return false;
      row.claimedMs = nowMs;
      return true;
    });
  }

  async takeStale(owner: string, nowMs: number, leaseMs: number, max: number): Promise<TickRef[]> {
    const out: TickRef[] = [];
    for (const [id, rows] of this.#claims) {
      for (const [tick, row] of rows) {
        if (out.length >= max) return out;
        if (row.jobId === null && row.claimedMs < nowMs - leaseMs) {
          row.owner = owner;
          row.claimedMs = nowMs;
          out.push({ id, tick });
        }
      }
    }
    return out;
  }

  async prune(nowMs: number, keepMs: number): Promise<void> {
    for (const [id, rows] of this.#claims) {
      const backfill = this.#schedules.get(id)?.def.backfillMs ?? 0;
      for (const [tick, row] of rows) {
        if (row.jobId !== null && tick < nowMs - backfill - keepMs) rows.delete(tick);
      }
    }
  }

  async close(): Promise<void> {}
}
