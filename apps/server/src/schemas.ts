/** JSON schemas shared by the routes (Ajv validation of bodies) and the OpenAPI document. */

type Schema = Record<string, unknown>;

const stringList = (maxItems: number): Schema => ({
  type: 'array',
  maxItems,
  items: { type: 'string', minLength: 1, maxLength: 255 },
});

/** The §2 error body. */
export const ERROR_BODY: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'docs_url'],
      properties: {
        code: { type: 'string', pattern: '^IN[0-9]{3}$' },
        message: { type: 'string' },
        provider: { type: 'string' },
        resource_type: { type: 'string' },
        field: { type: 'string' },
        docs_url: { type: 'string', format: 'uri' },
      },
    },
  },
};

/** `SearchQuery` without `index` (the index is in the path). */
export const SEARCH_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    query: {
      type: 'string',
      maxLength: 10_000,
      default: '',
      description: 'Words to match; "" (the default) matches every document',
    },
    filter: {
      type: 'object',
      description:
        'Portable filter: a leaf {field, op, value}, {or: [leaf…]} or {and: [clause…]}; op is one of eq, neq, gt, gte, lt, lte, between, in, nin, exists',
    },
    rawFilter: { type: 'string', maxLength: 10_000, description: 'Engine syntax, passed through' },
    sort: { ...stringList(32), description: '["price:asc", "name:desc"]' },
    limit: { type: 'integer', minimum: 0, maximum: 1000, description: 'Default 20' },
    offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, description: 'Default 0' },
    facets: stringList(100),
    highlight: stringList(100),
  },
};

export const SEARCH_RESULT: Schema = {
  type: 'object',
  required: ['hits', 'totalHits', 'totalHitsExact', 'processingTimeMs'],
  properties: {
    hits: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'document'],
        properties: {
          id: { type: 'string' },
          score: { type: 'number' },
          document: { type: 'object' },
          highlights: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
    totalHits: { type: 'integer' },
    totalHitsExact: { type: 'boolean' },
    processingTimeMs: { type: 'number' },
    facets: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          properties: { value: { type: 'string' }, count: { type: 'integer' } },
        },
      },
    },
  },
};

/** Plain documents, each carrying its primary key (default `id`). */
export const DOCUMENTS_BODY: Schema = {
  type: 'array',
  items: { type: 'object' },
};

export const BULK_RESULT: Schema = {
  type: 'object',
  required: ['succeeded', 'failed'],
  properties: {
    succeeded: { type: 'integer' },
    failed: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'reason'],
        properties: { id: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
};

/** `IndexConfig`. */
export const SETTINGS_BODY: Schema = {
  type: 'object',
  required: ['searchable'],
  additionalProperties: false,
  properties: {
    searchable: stringList(1000),
    filterable: stringList(1000),
    sortable: stringList(1000),
    primaryKey: { type: 'string', minLength: 1, maxLength: 255, description: 'Default "id"' },
  },
};

export const INCR_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    delta: {
      type: 'integer',
      minimum: -Number.MAX_SAFE_INTEGER,
      maximum: Number.MAX_SAFE_INTEGER,
      default: 1,
      description: 'May be negative. Default 1',
    },
  },
};

/** The job body; the ranges are those of core's `assertEnqueueOptions`. */
export const JOB_BODY: Schema = {
  type: 'object',
  required: ['data'],
  additionalProperties: false,
  properties: {
    data: { description: 'Any JSON value: the job payload' },
    delayMs: { type: 'number', minimum: 0, description: 'Not delivered before now + delayMs. Default 0' },
    priority: {
      type: 'integer',
      minimum: -2_147_483_647,
      maximum: 2_147_483_647,
      description: 'Higher runs first. Default 0',
    },
    dedupKey: { type: 'string', minLength: 1, maxLength: 512 },
    maxRetries: { type: 'integer', minimum: 0, maximum: 1000 },
    timeoutMs: { type: 'number', exclusiveMinimum: 0 },
  },
};

export const JOB_INFO: Schema = {
  type: 'object',
  required: ['id', 'queue', 'data', 'attempts', 'maxRetries', 'createdAt', 'state', 'priority', 'runAt'],
  properties: {
    id: { type: 'string' },
    queue: { type: 'string' },
    data: {},
    attempts: { type: 'integer' },
    maxRetries: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    state: { type: 'string', enum: ['pending', 'running', 'completed', 'failed'] },
    priority: { type: 'integer' },
    runAt: { type: 'string', format: 'date-time' },
    lastError: { type: 'string' },
    completedAt: { type: 'string', format: 'date-time' },
    failedAt: { type: 'string', format: 'date-time' },
  },
};

export const QUEUE_STATS: Schema = {
  type: 'object',
  required: ['queue', 'length', 'failed', 'paused'],
  properties: {
    queue: { type: 'string' },
    length: { type: 'integer', description: 'Pending jobs, delayed ones included' },
    failed: { type: 'integer' },
    paused: { type: 'boolean' },
  },
};

export const HEALTH_BODY: Schema = {
  type: 'object',
  required: ['status', 'checks', 'providers'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unhealthy'] },
    checks: {
      type: 'object',
      description: '{"search:<name>"|"cache:<name>"|"queue:<name>": healthy}',
      additionalProperties: { type: 'boolean' },
    },
    providers: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          healthy: { type: 'boolean' },
          checkLatencyMs: { type: 'number' },
          breaker: { type: 'string', enum: ['closed', 'half_open', 'open'] },
          budgetRemaining: { type: 'number' },
          details: {
            type: 'object',
            description: "The provider's own health details (a tiered cache: both tiers and its bus)",
            additionalProperties: true,
          },
        },
      },
    },
  },
};

export const SLO_BODY: Schema = {
  type: 'object',
  required: ['withinSlo', 'averageBudgetRemaining', 'operations', 'snapshots'],
  properties: {
    withinSlo: { type: 'boolean' },
    averageBudgetRemaining: { type: 'number' },
    operations: { type: 'object', additionalProperties: { type: 'number' } },
    snapshots: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          config: { type: 'object' },
          total: { type: 'integer' },
          violations: { type: 'integer' },
          errors: { type: 'integer' },
          errorBudgetRemaining: { type: 'number' },
          withinSlo: { type: 'boolean' },
        },
      },
    },
  },
};
