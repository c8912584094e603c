import type { Client } from '@elastic/elasticsearch';
import { configError } from '@fraiseql/core';
import { PROVIDER } from './errors';

/**
 * The observers' audit trail on Elasticsearch (seed 001 §8.5): one index per day,
 * `fraiseql_events-YYYY.MM.DD`, created from an index template with the seed's mappings, deleted
 * by an ILM policy after `retentionDays`, and searched through the alias `fraiseql_events` that the
 * template gives every daily index.
 */
export interface AuditTemplateOptions {
  /** Index pattern of the daily indices. Default `"fraiseql_events-*"`. */
  pattern?: string;
  /** Days an audit index is kept before ILM deletes it. Default 30. */
  retentionDays?: number;
  /** Name of the index template. Default: the pattern without `-*` (`"fraiseql_events"`). */
  templateName?: string;
  /** Name of the lifecycle policy. Default `"<templateName>_policy"`. */
  policyName?: string;
  /** Alias every daily index joins (what searches use). Default: the template name. */
  alias?: string;
}

export interface AuditTemplateResult {
  template: string;
  policy: string;
  alias: string;
  pattern: string;
}

/** The seed's mappings, exactly. */
export const AUDIT_MAPPINGS = {
  properties: {
    event_id: { type: 'keyword' },
    entity_type: { type: 'keyword' },
    entity_id: { type: 'keyword' },
    event_kind: { type: 'keyword' },
    timestamp: { type: 'date' },
    observer_id: { type: 'keyword' },
    action_type: { type: 'keyword' },
    status: { type: 'keyword' },
    error: { type: 'text' },
    data: { type: 'object', enabled: false },
  },
} as const;

const NAME = /^[a-z0-9][a-z0-9_.-]*$/;

function resolve(opts: AuditTemplateOptions): Required<AuditTemplateOptions> {
  const pattern = opts.pattern ?? 'fraiseql_events-*';
  if (typeof pattern !== 'string' || !/^[a-z0-9][a-z0-9_.-]*\*$/.test(pattern))
    throw configError(
      PROVIDER,
      `audit pattern must be a lower-case index prefix ending in "*" (got ${JSON.stringify(pattern)})`,
      'pattern',
    );
  const retentionDays = opts.retentionDays ?? 30;
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw configError(
      PROVIDER,
      `retentionDays must be a whole number of days ≥ 1 (got ${String(retentionDays)})`,
      'retentionDays',
    );
  const templateName = opts.templateName ?? pattern.replace(/[-_.]?\*$/, '');
  const policyName = opts.policyName ?? `${templateName}_policy`;
  const alias = opts.alias ?? templateName;
  for (const [k, v] of Object.entries({ templateName, policyName, alias })) {
    if (!NAME.test(v))
      throw configError(PROVIDER, `${k} ${JSON.stringify(v)} is not a valid Elasticsearch name`, k);
  }
  return { pattern, retentionDays, templateName, policyName, alias };
}

/**
 * Installs (or updates) the lifecycle policy and the index template of the audit indices.
 *
 * The policy only deletes: `delete` at `min_age: <retentionDays>d`. The seed's `hot` rollover
 * action is left out on purpose — rollover needs a write alias or a data stream, and on dated
 * daily indices it would stop ILM in an error step, so the delete phase would never run.
 */
export async function ensureAuditTemplate(
  client: Client,
  opts: AuditTemplateOptions = {},
): Promise<AuditTemplateResult> {
  const o = resolve(opts);
  await client.ilm.putLifecycle({
    name: o.policyName,
    policy: {
      _meta: { managed_by: 'fraiseql-integrations', description: 'audit trail retention' },
      phases: {
        hot: { min_age: '0ms', actions: {} },
        delete: { min_age: `${o.retentionDays}d`, actions: { delete: {} } },
      },
    },
  });
  await client.indices.putIndexTemplate({
    name: o.templateName,
    index_patterns: [o.pattern],
    template: {
      settings: {
        number_of_shards: 1,
        number_of_replicas: 0,
        'index.lifecycle.name': o.policyName,
      },
      mappings: structuredClone(AUDIT_MAPPINGS) as never,
      aliases: { [o.alias]: {} },
    },
    _meta: { managed_by: 'fraiseql-integrations' },
  });
  return { template: o.templateName, policy: o.policyName, alias: o.alias, pattern: o.pattern };
}

/** The daily index of a record: `<base>-YYYY.MM.DD` of its timestamp (UTC), today when it has none. */
export function auditIndexFor(base: string, timestamp: unknown): string {
  const ms =
    timestamp instanceof Date
      ? timestamp.getTime()
      : typeof timestamp === 'number'
        ? timestamp
        : typeof timestamp === 'string'
          ? Date.parse(timestamp)
          : Number.NaN;
  const d = new Date(Number.isFinite(ms) ? ms : Date.now());
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${base}-${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`;
}
