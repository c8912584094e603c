import { badRequest, EsError, indexNotFound } from './errors';
import { globMatch, type Mappings, mapDocument } from './mapping';

/**
 * State of the double: indices (documents, mappings, settings, aliases), composable index
 * templates and ILM policies. Every index keeps two views of its documents, as a shard does: the
 * live one (`get` reads it, realtime) and the searchable one, replaced on refresh — so a write is
 * visible to `_search` only after a refresh (`refresh=true|wait_for`, `POST _refresh`, or the
 * periodic refresh every `refreshIntervalMs`).
 */
export interface StoredDoc {
  source: Record<string, unknown>;
  version: number;
  seqNo: number;
}

export interface EsIndex {
  name: string;
  uuid: string;
  created: number;
  mappings: Mappings;
  settings: Record<string, unknown>;
  aliases: Map<string, Record<string, unknown>>;
  docs: Map<string, StoredDoc>;
  searchable: Map<string, StoredDoc>;
  dirty: boolean;
  seqNo: number;
}

export interface IndexTemplate {
  index_patterns: string[];
  template?: {
    settings?: Record<string, unknown>;
    mappings?: Mappings;
    aliases?: Record<string, Record<string, unknown>>;
  };
  priority?: number;
  [key: string]: unknown;
}

const INVALID_CHARS = /[\\/*?"<>| ,#:]/;

export function validateIndexName(name: string): void {
  const bad = (why: string) =>
    new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], ${why}`, {
      index_uuid: '_na_',
      index: name,
    });
  if (name !== name.toLowerCase()) throw bad('must be lowercase');
  if (INVALID_CHARS.test(name))
    throw bad('must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?, #, :]');
  if (/^[-_+]/.test(name)) throw bad("must not start with '_', '-', or '+'");
  if (name === '.' || name === '..') throw bad("must not be '.' or '..'");
  if (Buffer.byteLength(name) > 255)
    throw bad('index name is too long, (' + Buffer.byteLength(name) + ' > 255)');
}

/** Flattens `index.lifecycle.name` style and nested settings into ES's `{ index: { … } }` form. */
function normalizeSettings(s: Record<string, unknown> | undefined): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v))
        walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else flat[(prefix + k).startsWith('index.') ? prefix + k : `index.${prefix}${k}`] = String(v);
    }
  };
  walk(s ?? {}, '');
  return flat;
}

export function createStore() {
  const indices = new Map<string, EsIndex>();
  const templates = new Map<string, IndexTemplate>();
  const policies = new Map<string, { version: number; modified_date: string; policy: unknown }>();
  let uuidSeq = 0;

  const aliasNames = (): Set<string> => {
    const out = new Set<string>();
    for (const idx of indices.values()) for (const a of idx.aliases.keys()) out.add(a);
    return out;
  };

  const matchingTemplate = (name: string): IndexTemplate | undefined => {
    let best: IndexTemplate | undefined;
    for (const t of templates.values()) {
      if (!t.index_patterns.some((p) => globMatch(p, name))) continue;
      if (!best || (t.priority ?? 0) > (best.priority ?? 0)) best = t;
    }
    return best;
  };

  const store = {
    indices,
    templates,
    policies,

    /** Creates an index, applying the highest-priority matching index template first. */
    create(
      name: string,
      body: {
        mappings?: Mappings;
        settings?: Record<string, unknown>;
        aliases?: Record<string, Record<string, unknown>>;
      } = {},
    ): EsIndex {
      validateIndexName(name);
      if (indices.has(name))
        throw new EsError(
          400,
          'resource_already_exists_exception',
          `index [${name}/${indices.get(name)!.uuid}] already exists`,
          { index: name },
        );
      if (aliasNames().has(name))
        throw badRequest(
          `invalid index name [${name}], already exists as alias`,
          'invalid_index_name_exception',
        );
      const t = matchingTemplate(name)?.template ?? {};
      let mappings: Mappings = structuredClone(t.mappings ?? {});
      if (body.mappings) {
        const { properties, ...rest } = body.mappings;
        mappings = {
          ...mappings,
          ...structuredClone(rest),
          properties: { ...(mappings.properties ?? {}), ...structuredClone(properties ?? {}) },
        };
      }
      const idx: EsIndex = {
        name,
        uuid: `fakeuuid${(++uuidSeq).toString(36).padStart(14, '0')}`,
        created: Date.now(),
        mappings,
        settings: { ...normalizeSettings(t.settings), ...normalizeSettings(body.settings) },
        aliases: new Map(Object.entries({ ...(t.aliases ?? {}), ...(body.aliases ?? {}) })),
        docs: new Map(),
        searchable: new Map(),
        dirty: false,
        seqNo: -1,
      };
      for (const a of idx.aliases.keys())
        if (indices.has(a))
          throw badRequest(`alias [${a}] has the same name as an index`, 'invalid_alias_name_exception');
      indices.set(name, idx);
      return idx;
    },

    /**
     * Concrete indices of an expression: comma lists, `*` wildcards (no match is fine, as
     * `allow_no_indices` defaults to true), aliases, `_all`. A missing concrete name is 404.
     */
    resolve(expr: string | undefined): EsIndex[] {
      if (expr === undefined || expr === '' || expr === '_all' || expr === '*') return [...indices.values()];
      const out = new Map<string, EsIndex>();
      for (const part of expr.split(',')) {
        const exclude = part.startsWith('-') && part.includes('*');
        const p = exclude ? part.slice(1) : part;
        const found: EsIndex[] = [];
        if (p.includes('*')) {
          for (const idx of indices.values()) {
            if (globMatch(p, idx.name) || [...idx.aliases.keys()].some((a) => globMatch(p, a)))
              found.push(idx);
          }
        } else {
          const idx = indices.get(p);
          if (idx) found.push(idx);
          else {
            for (const i of indices.values()) if (i.aliases.has(p)) found.push(i);
            if (found.length === 0) throw indexNotFound(p);
          }
        }
        for (const f of found) {
          if (exclude) out.delete(f.name);
          else out.set(f.name, f);
        }
      }
      return [...out.values()];
    },

    /** The index a write to `name` goes to: the index, the single index (or write index) of an alias, or a new index. */
    writeTarget(name: string): EsIndex {
      const idx = indices.get(name);
      if (idx) return idx;
      const viaAlias = [...indices.values()].filter((i) => i.aliases.has(name));
      if (viaAlias.length === 1) return viaAlias[0]!;
      if (viaAlias.length > 1) {
        const w = viaAlias.filter((i) => i.aliases.get(name)?.is_write_index === true);
        if (w.length === 1) return w[0]!;
        throw badRequest(
          `no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`,
        );
      }
      return store.create(name);
    },

    /** Stores a document (mapping it first); `opType: "create"` refuses an existing id. */
    put(
      idx: EsIndex,
      id: string,
      source: unknown,
      opType: 'index' | 'create',
    ): { created: boolean; doc: StoredDoc } {
      if (id.length === 0)
        throw badRequest('if _id is specified it must not be empty', 'action_request_validation_exception');
      if (Buffer.byteLength(id) > 512)
        throw new EsError(
          400,
          'action_request_validation_exception',
          `Validation Failed: 1: id [${id.slice(0, 20)}...] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id)};`,
        );
      if (!source || typeof source !== 'object' || Array.isArray(source))
        throw new EsError(
          400,
          'document_parsing_exception',
          '[1:1] failed to parse: the document must be a JSON object',
        );
      const old = idx.docs.get(id);
      if (old && opType === 'create')
        throw new EsError(
          409,
          'version_conflict_engine_exception',
          `[${id}]: version conflict, document already exists (current version [${old.version}])`,
          { index_uuid: idx.uuid, shard: '0', index: idx.name },
        );
      idx.mappings = mapDocument(idx.mappings, source as Record<string, unknown>, id);
      const doc: StoredDoc = {
        source: structuredClone(source) as Record<string, unknown>,
        version: (old?.version ?? 0) + 1,
        seqNo: ++idx.seqNo,
      };
      idx.docs.set(id, doc);
      idx.dirty = true;
      return { created: !old, doc };
    },

    remove(idx: EsIndex, id: string): StoredDoc | undefined {
      const old = idx.docs.get(id);
      if (!old) return undefined;
      idx.docs.delete(id);
      idx.seqNo++;
      idx.dirty = true;
      return old;
    },

    refresh(list: Iterable<EsIndex>): number {
      let n = 0;
      for (const idx of list) {
        if (idx.dirty) idx.searchable = new Map(idx.docs);
        idx.dirty = false;
        n++;
      }
      return n;
    },

    aliasNames,
  };
  return store;
}

export type EsStore = ReturnType<typeof createStore>;
