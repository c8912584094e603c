import type { ScheduleDef } from './definition';
import type { ClaimRef, ScheduleStore, StoredSchedule, TickRef } from './store';
import type { RedisLike } from './types';

// Keys (P = prefix): P+"schedules" hash id → def JSON (never decoded by Lua: cjson would turn
// {} into [] and round numbers); P+"created" hash id → ms; P+"state:"+id hash
// {fired, lastTick, lastJobId, lastJobTick}; P+"version" counter; P+"claim:"+id+":"+tick
// owner, SET NX PX; P+"open" zset of unfinished claims "id|tick" scored by claim time.
// Ids use the queue-name alphabet, which has no "|".

const CLAIM = `
local p, owner, now = ARGV[1], ARGV[2], ARGV[3]
local won = {}
for i = 4, #ARGV, 4 do
  local id, tick, lim, px = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if redis.call('HEXISTS', p .. 'schedules', id) == 1 then
    local st = p .. 'state:' .. id
    local fired = tonumber(redis.call('HGET', st, 'fired') or '0')
    if lim <= 0 or fired < lim then
      if redis.call('SET', p .. 'claim:' .. id .. ':' .. tick, owner, 'NX', 'PX', px) then
        redis.call('HINCRBY', st, 'fired', 1)
        local lt = tonumber(redis.call('HGET', st, 'lastTick') or '-1')
        if tonumber(tick) > lt then redis.call('HSET', st, 'lastTick', tick) end
        -- The lease of a tick claimed ahead of its instant starts at the instant.
        local at = now
        if tonumber(tick) > tonumber(now) then at = tick end
        redis.call('ZADD', p .. 'open', at, id .. '|' .. tick)
        won[#won + 1] = (i - 4) / 4
      end
    end
  end
end
return won`;

const COMPLETE = `
local p = ARGV[1]
for i = 2, #ARGV, 3 do
  local id, tick, job = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZREM', p .. 'open', id .. '|' .. tick)
  local st = p .. 'state:' .. id
  if redis.call('HEXISTS', p .. 'schedules', id) == 1 then
    local jt = tonumber(redis.call('HGET', st, 'lastJobTick') or '-1')
    if tonumber(tick) >= jt then redis.call('HSET', st, 'lastJobTick', tick, 'lastJobId', job) end
  end
end
return 1`;

const TOUCH = `
local p, owner, now = ARGV[1], ARGV[2], ARGV[3]
local held = {}
for i = 4, #ARGV, 2 do
  local id, tick = ARGV[i], ARGV[i + 1]
  local m = id .. '|' .. tick
  if redis.call('GET', p .. 'claim:' .. id .. ':' .. tick) == owner and redis.call('ZSCORE', p .. 'open', m) then
    redis.call('ZADD', p .. 'open', now, m)
    held[#held + 1] = m
  end
end
return held`;

const TAKE = `
local p, owner, now, cutoff, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local old = redis.call('ZRANGEBYSCORE', p .. 'open', '-inf', '(' .. cutoff, 'LIMIT', 0, max)
local out = {}
for _, m in ipairs(old) do
  local sep = string.find(m, '|', 1, true)
  local id, tick = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
  if redis.call('HEXISTS', p .. 'schedules', id) == 1 then
    redis.call('ZADD', p .. 'open', now, m)
    redis.call('SET', p .. 'claim:' .. id .. ':' .. tick, owner, 'XX', 'KEEPTTL')
    out[#out + 1] = m
  else
    redis.call('ZREM', p .. 'open', m)
  end
end
return out`;

const REMOVE = `
local p, id = ARGV[1], ARGV[2]
local n = redis.call('HDEL', p .. 'schedules', id)
if n == 1 then
  redis.call('DEL', p .. 'state:' .. id)
  redis.call('HDEL', p .. 'created', id)
  redis.call('INCR', p .. 'version')
end
return n`;

const PUT = `
local p, id, def, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', p .. 'schedules', id, def)
redis.call('HSETNX', p .. 'created', id, now)
redis.call('INCR', p .. 'version')
return 1`;

const SYNC = `
local p, now = ARGV[1], ARGV[2]
local prev = redis.call('GET', p .. 'scan')
if not prev or tonumber(prev) < tonumber(now) then redis.call('SET', p .. 'scan', now) end
return { redis.call('GET', p .. 'version') or '0', prev or false }`;

/** Every schedule with its creation time and state, in one round trip: [id, def, created, fired, lastTick, lastJobId]…. */
const ALL = `
local p = ARGV[1]
local defs = redis.call('HGETALL', p .. 'schedules')
local out = {}
for i = 1, #defs, 2 do
  local id = defs[i]
  local st = redis.call('HMGET', p .. 'state:' .. id, 'fired', 'lastTick', 'lastJobId')
  out[#out + 1] = id
  out[#out + 1] = defs[i + 1]
  out[#out + 1] = redis.call('HGET', p .. 'created', id) or '0'
  out[#out + 1] = st[1] or '0'
  out[#out + 1] = st[2] or ''
  out[#out + 1] = st[3] or ''
end
return out`;

const CHUNK = 1000;

function parseRef(m: string): TickRef {
  const i = m.lastIndexOf('|');
  return { id: m.slice(0, i), tick: Number(m.slice(i + 1)) };
}

/** Schedules and claims in Redis, shared by every process on the server. */
export class RedisScheduleStore implements ScheduleStore {
  readonly name = 'redis';
  readonly #r: RedisLike;
  readonly #p: string;
  readonly #owned: boolean;
  /** Claims live this long past their schedule's backfill window (they only have to outlive it). */
  readonly #keepMs: number;
  readonly #backfill = new Map<string, number>();

  constructor(client: RedisLike, prefix: string, owned: boolean, keepMs: number) {
    this.#r = client;
    this.#p = prefix;
    this.#owned = owned;
    this.#keepMs = keepMs;
  }

  async init(): Promise<void> {
    await this.#r.call('PING');
  }

  #eval(script: string, args: (string | number)[]): Promise<unknown> {
    return this.#r.call('EVAL', script, 0, this.#p, ...args);
  }

  async sync(nowMs: number): Promise<{ version: string; scannedMs: number | null }> {
    const [version, prev] = (await this.#eval(SYNC, [nowMs])) as [string | null, string | null];
    return { version: String(version ?? '0'), scannedMs: prev ? Number(prev) : null };
  }

  async put(def: ScheduleDef, nowMs: number): Promise<void> {
    this.#backfill.set(def.id, def.backfillMs);
    await this.#eval(PUT, [def.id, JSON.stringify(def), nowMs]);
  }

  async remove(id: string): Promise<boolean> {
    return Number(await this.#eval(REMOVE, [id])) === 1;
  }

  async #state(id: string, raw: string): Promise<StoredSchedule> {
    const def = JSON.parse(raw) as ScheduleDef;
    const createdAtMs = await this.#r.call('HGET', `${this.#p}created`, id);
    const st = (await this.#r.call('HGETALL', `${this.#p}state:${id}`)) as string[] | Record<string, string>;
    const h: Record<string, string> = {};
    if (Array.isArray(st)) for (let i = 0; i < st.length; i += 2) h[st[i] as string] = st[i + 1] as string;
    else Object.assign(h, st);
    this.#backfill.set(id, def.backfillMs);
    return {
      def,
      createdAtMs: Number(createdAtMs),
      fired: Number(h.fired ?? 0),
      lastTick: h.lastTick === undefined ? null : Number(h.lastTick),
      lastJobId: h.lastJobId ?? null,
    };
  }

  async get(id: string): Promise<StoredSchedule | null> {
    const raw = (await this.#r.call('HGET', `${this.#p}schedules`, id)) as string | null;
    return raw ? this.#state(id, raw) : null;
  }

  async all(): Promise<StoredSchedule[]> {
    const flat = (await this.#eval(ALL, [])) as string[];
    const out: StoredSchedule[] = [];
    for (let i = 0; i < flat.length; i += 6) {
      const def = JSON.parse(flat[i + 1] as string) as ScheduleDef;
      this.#backfill.set(def.id, def.backfillMs);
      out.push({
        def,
        createdAtMs: Number(flat[i + 2]),
        fired: Number(flat[i + 3]),
        lastTick: flat[i + 4] ? Number(flat[i + 4]) : null,
        lastJobId: flat[i + 5] || null,
      });
    }
    return out.sort((a, b) => (a.def.id < b.def.id ? -1 : 1));
  }

  async claim(ticks: ClaimRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    const won: TickRef[] = [];
    for (let i = 0; i < ticks.length; i += CHUNK) {
      const part = ticks.slice(i, i + CHUNK);
      const args: (string | number)[] = [owner, nowMs];
      for (const t of part) {
        args.push(t.id, t.tick, t.limited ? ((await this.get(t.id))?.def.limit ?? 0) : 0);
        args.push((this.#backfill.get(t.id) ?? 0) + this.#keepMs);
      }
      const idx = (await this.#eval(CLAIM, args)) as number[];
      for (const k of idx) won.push(part[k] as TickRef);
    }
    return won.map((t) => ({ id: t.id, tick: t.tick }));
  }

  async complete(done: (TickRef & { jobId: string })[]): Promise<void> {
    for (let i = 0; i < done.length; i += CHUNK) {
      const args: (string | number)[] = [];
      for (const d of done.slice(i, i + CHUNK)) args.push(d.id, d.tick, d.jobId);
      await this.#eval(COMPLETE, args);
    }
  }

  async touch(ticks: TickRef[], owner: string, nowMs: number): Promise<TickRef[]> {
    if (ticks.length === 0) return [];
    const args: (string | number)[] = [owner, nowMs];
    for (const t of ticks) args.push(t.id, t.tick);
    return ((await this.#eval(TOUCH, args)) as string[]).map(parseRef);
  }

  async takeStale(owner: string, nowMs: number, leaseMs: number, max: number): Promise<TickRef[]> {
    return ((await this.#eval(TAKE, [owner, nowMs, nowMs - leaseMs, max])) as string[]).map(parseRef);
  }

  async prune(): Promise<void> {
    // Claim keys expire by themselves (PX); nothing to sweep.
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#r.quit?.();
  }
}
