import { badRequest, EsError, indexNotFound } from './errors';
import { type Mappings, mergeMappings } from './mapping';
import type { EsIndex, EsStore, IndexTemplate } from './store';

/**
 * Index management of the double: indices (create/exists/get/delete/refresh), mappings
 * (get/put), index templates (`_index_template`), ILM policies (`_ilm/policy`) and aliases
 * (`_aliases` actions `add`/`remove`/`remove_index` applied atomically, `_alias` reads, put/delete).
 */
type Dsl = Record<string, unknown>;
export type Reply = { status: number; body?: unknown };

const ACK = { acknowledged: true };

export function getIndex(store: EsStore, expr: string): Reply {
  const out: Dsl = {};
  for (const idx of store.resolve(expr)) {
    out[idx.name] = {
      aliases: Object.fromEntries(idx.aliases),
      mappings: idx.mappings,
      settings: {
        index: {
          ...unflatten(idx.settings),
          creation_date: String(idx.created),
          uuid: idx.uuid,
          provided_name: idx.name,
        },
      },
    };
  }
  return { status: 200, body: out };
}

function unflatten(flat: Record<string, unknown>): Dsl {
  const out: Dsl = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.replace(/^index\./, '').split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) {
      o[p] ??= {};
      o = o[p] as Dsl;
    }
    o[parts.at(-1)!] = v;
  }
  return out;
}

export function createIndex(store: EsStore, name: string, body: Dsl | undefined): Reply {
  store.create(name, (body ?? {}) as Parameters<EsStore['create']>[1]);
  return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } };
}

export function deleteIndex(store: EsStore, expr: string): Reply {
  for (const part of expr.split(',')) {
    if (!part.includes('*') && !store.indices.has(part)) {
      if (store.aliasNames().has(part))
        throw badRequest(
          `The provided expression [${part}] matches an alias, specify the corresponding concrete indices instead.`,
        );
      throw indexNotFound(part);
    }
  }
  for (const idx of store.resolve(expr)) store.indices.delete(idx.name);
  return { status: 200, body: ACK };
}

export function getMapping(store: EsStore, expr: string | undefined): Reply {
  const out: Dsl = {};
  for (const idx of store.resolve(expr)) out[idx.name] = { mappings: idx.mappings };
  return { status: 200, body: out };
}

export function putMapping(store: EsStore, expr: string, body: Dsl | undefined): Reply {
  const list = store.resolve(expr);
  const merged = list.map((idx) => [idx, mergeMappings(idx.mappings, (body ?? {}) as Mappings)] as const);
  for (const [idx, m] of merged) idx.mappings = m;
  return { status: 200, body: ACK };
}

export function refresh(store: EsStore, expr: string | undefined): Reply {
  const n = store.refresh(store.resolve(expr));
  return { status: 200, body: { _shards: { total: n * 2, successful: n, failed: 0 } } };
}

// -- index templates --------------------------------------------------------------------------

export function putTemplate(
  store: EsStore,
  name: string,
  body: Dsl | undefined,
  params: Record<string, string>,
): Reply {
  const t = (body ?? {}) as IndexTemplate;
  const patterns =
    typeof t.index_patterns === 'string' ? [t.index_patterns as unknown as string] : t.index_patterns;
  if (!Array.isArray(patterns) || patterns.length === 0)
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: index patterns are missing;',
    );
  if (params.create === 'true' && store.templates.has(name))
    throw badRequest(`index template [${name}] already exists`);
  for (const [other, ot] of store.templates) {
    if (other === name || (ot.priority ?? 0) !== (t.priority ?? 0)) continue;
    if (ot.index_patterns.some((p) => patterns.includes(p)))
      throw badRequest(
        `index template [${name}] has index patterns [${patterns.join(', ')}] matching patterns from existing templates [${other}] with patterns (${other} => [${ot.index_patterns.join(', ')}]) that have the same priority [${t.priority ?? 0}], multiple index templates may not match during index creation, please use a different priority`,
      );
  }
  store.templates.set(name, { ...structuredClone(t), index_patterns: patterns });
  return { status: 200, body: ACK };
}

export function getTemplates(store: EsStore, name: string | undefined): Reply {
  const list = [...store.templates.entries()].filter(
    ([n]) =>
      name === undefined ||
      n === name ||
      (name.includes('*') && new RegExp(`^${name.replace(/\*/g, '.*')}$`).test(n)),
  );
  if (name !== undefined && !name.includes('*') && list.length === 0)
    throw new EsError(404, 'resource_not_found_exception', `index template matching [${name}] not found`);
  return { status: 200, body: { index_templates: list.map(([n, t]) => ({ name: n, index_template: t })) } };
}

export function deleteTemplate(store: EsStore, name: string): Reply {
  if (!store.templates.delete(name))
    throw new EsError(404, 'resource_not_found_exception', `index_template [${name}] missing`);
  return { status: 200, body: ACK };
}

// -- ILM --------------------------------------------------------------------------------------

export function putPolicy(store: EsStore, name: string, body: Dsl | undefined): Reply {
  const policy = body?.policy;
  if (!policy || typeof policy !== 'object')
    throw new EsError(
      400,
      'x_content_parse_exception',
      '[1:1] [put_lifecycle_request] policy not specified or not an object',
    );
  const phases = (policy as Dsl).phases as Dsl | undefined;
  for (const [phase, spec] of Object.entries(phases ?? {})) {
    if (!['hot', 'warm', 'cold', 'frozen', 'delete'].includes(phase))
      throw badRequest(`Timeseries lifecycle does not support phase [${phase}]`);
    const minAge = (spec as Dsl).min_age;
    if (minAge !== undefined && !/^\d+(d|h|m|s|ms|micros|nanos)$/.test(String(minAge)))
      throw new EsError(
        400,
        'x_content_parse_exception',
        `[1:1] [phase] failed to parse field [min_age]: failed to parse setting [min_age] with value [${String(minAge)}] as a time value`,
      );
  }
  const old = store.policies.get(name);
  store.policies.set(name, {
    version: (old?.version ?? 0) + 1,
    modified_date: new Date().toISOString(),
    policy: structuredClone(policy),
  });
  return { status: 200, body: ACK };
}

export function getPolicies(store: EsStore, name: string | undefined): Reply {
  if (name !== undefined && !store.policies.has(name))
    throw new EsError(404, 'resource_not_found_exception', `Lifecycle policy not found: ${name}`);
  const entries = [...store.policies.entries()].filter(([n]) => name === undefined || n === name);
  return {
    status: 200,
    body: Object.fromEntries(entries.map(([n, p]) => [n, { ...p, in_use_by: inUse(store, n) }])),
  };
}

const inUse = (store: EsStore, policy: string) => ({
  indices: [...store.indices.values()]
    .filter((i) => i.settings['index.lifecycle.name'] === policy)
    .map((i) => i.name),
  data_streams: [],
  composable_templates: [...store.templates.entries()]
    .filter(([, t]) => JSON.stringify(t.template?.settings ?? {}).includes(`"${policy}"`))
    .map(([n]) => n),
});

export function deletePolicy(store: EsStore, name: string): Reply {
  if (!store.policies.delete(name))
    throw new EsError(404, 'resource_not_found_exception', `Lifecycle policy not found: ${name}`);
  return { status: 200, body: ACK };
}

// -- aliases ----------------------------------------------------------------------------------

const listOf = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

/** `POST _aliases`: every action is validated first, then all are applied — atomically. */
export function updateAliases(store: EsStore, body: Dsl | undefined): Reply {
  const actions = (body?.actions ?? []) as Dsl[];
  if (!Array.isArray(actions) || actions.length === 0)
    throw new EsError(
      400,
      'action_request_validation_exception',
      'Validation Failed: 1: No action specified;',
    );
  const plan: (() => void)[] = [];
  // Every remove_index runs first, wherever it sits in the list (so an alias may take the name).
  const removed = new Set<string>();
  for (const action of actions) {
    const spec = (action.remove_index ?? undefined) as Dsl | undefined;
    if (spec) for (const i of [...listOf(spec.index), ...listOf(spec.indices)]) removed.add(i);
  }
  const ordered = [...actions.filter((a) => a.remove_index), ...actions.filter((a) => !a.remove_index)];
  for (const action of ordered) {
    const [kind, specRaw] = Object.entries(action)[0] ?? [];
    const spec = (specRaw ?? {}) as Dsl;
    const indices = [...listOf(spec.index), ...listOf(spec.indices)];
    const aliases = [...listOf(spec.alias), ...listOf(spec.aliases)];
    if (indices.length === 0)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: One of [index] or [indices] is required;',
      );
    const targets: EsIndex[] = indices.flatMap((i) => store.resolve(i));
    if (kind === 'add') {
      if (aliases.length === 0)
        throw new EsError(
          400,
          'action_request_validation_exception',
          'Validation Failed: 1: One of [alias] or [aliases] is required;',
        );
      for (const a of aliases) {
        if (store.indices.has(a) && !removed.has(a))
          throw badRequest(
            `The provided expression [${a}] matches an index, an alias must not have the same name as an index`,
            'invalid_alias_name_exception',
          );
        for (const t of targets) {
          const props: Dsl = {};
          if (spec.is_write_index !== undefined) props.is_write_index = spec.is_write_index;
          if (spec.filter !== undefined) props.filter = spec.filter;
          plan.push(() => t.aliases.set(a, props));
        }
      }
    } else if (kind === 'remove') {
      if (aliases.length === 0)
        throw new EsError(
          400,
          'action_request_validation_exception',
          'Validation Failed: 1: One of [alias] or [aliases] is required;',
        );
      for (const a of aliases) {
        const holders = targets.filter((t) =>
          [...t.aliases.keys()].some(
            (x) => x === a || (a.includes('*') && new RegExp(`^${a.replace(/\*/g, '.*')}$`).test(x)),
          ),
        );
        if (holders.length === 0 && spec.must_exist !== false)
          throw new EsError(404, 'aliases_not_found_exception', `aliases [${a}] missing`, {
            'resource.type': 'aliases',
            'resource.id': a,
          });
        for (const t of holders)
          plan.push(() => {
            for (const x of [...t.aliases.keys()])
              if (x === a || (a.includes('*') && new RegExp(`^${a.replace(/\*/g, '.*')}$`).test(x)))
                t.aliases.delete(x);
          });
      }
    } else if (kind === 'remove_index') {
      for (const t of targets) {
        removed.add(t.name);
        plan.push(() => store.indices.delete(t.name));
      }
    } else throw badRequest(`[aliases] unknown field [${kind}]`, 'x_content_parse_exception');
  }
  for (const step of plan) step();
  return { status: 200, body: { acknowledged: true, errors: false } };
}

export function getAliases(store: EsStore, expr: string | undefined, name: string | undefined): Reply {
  const wanted = name?.split(',');
  const matches = (a: string) =>
    !wanted ||
    wanted.some(
      (w) =>
        w === a ||
        w === '_all' ||
        w === '*' ||
        (w.includes('*') && new RegExp(`^${w.replace(/\*/g, '.*')}$`).test(a)),
    );
  const out: Dsl = {};
  const list = expr === undefined ? [...store.indices.values()] : store.resolve(expr);
  for (const idx of list) {
    const aliases = Object.fromEntries([...idx.aliases].filter(([a]) => matches(a)));
    if (wanted && Object.keys(aliases).length === 0) continue;
    out[idx.name] = { aliases };
  }
  if (wanted && Object.keys(out).length === 0) {
    return { status: 404, body: { error: `alias [${name}] missing`, status: 404 } };
  }
  return { status: 200, body: out };
}

export function putAlias(store: EsStore, expr: string, alias: string, body: Dsl | undefined): Reply {
  return updateAliases(store, { actions: [{ add: { index: expr, alias, ...(body ?? {}) } }] });
}

export function deleteAlias(store: EsStore, expr: string, alias: string): Reply {
  return updateAliases(store, { actions: [{ remove: { index: expr, alias } }] });
}
