import { z } from 'zod';
import { ErrorCode, IntegrationError } from './errors';

/** The `[<section>.resilience]` settings: their types, defaults, schema and parser. */

/** Circuit breaker settings of one provider. */
export interface BreakerOptions {
  /** `consecutive`: open after `threshold` failures in a row. `sampling`: open when the failure ratio over `windowMs` exceeds `threshold`. Default `consecutive`. */
  kind?: 'consecutive' | 'sampling';
  /** Failures in a row (consecutive, default 5) or failure ratio 0-1 (sampling, default 0.5). */
  threshold?: number;
  /** Sampling window. Default 30_000. */
  windowMs?: number;
  /** Sampling: requests per second below which the breaker never opens. Default 5. */
  minimumRps?: number;
  /** First wait before a half-open probe; it doubles after each failed probe. Default 1000. */
  halfOpenAfterMs?: number;
  /** Longest wait between half-open probes. Default 30_000. */
  maxHalfOpenAfterMs?: number;
}

/** Retries of idempotent reads on transient errors. */
export interface RetryOptions {
  /** Retries after the first try. Default 2. */
  maxAttempts?: number;
  /** First backoff, jittered and doubled per retry. Default 50. */
  initialDelayMs?: number;
  /** Longest backoff. Default 1000. */
  maxDelayMs?: number;
}

/** `[<section>.resilience]` — every key optional. */
export interface ResilienceOptions {
  /** Per-operation time limit. Default: search 5000, cache 1000, queue 5000. */
  timeoutMs?: number;
  /** `false` turns the breaker off. */
  breaker?: BreakerOptions | false;
  /** `false` turns retries off. */
  retry?: RetryOptions | false;
}

export type Section = 'search' | 'cache' | 'queue';

export const DEFAULT_TIMEOUT_MS: Record<Section, number> = { search: 5000, cache: 1000, queue: 5000 };

const positive = z.number().positive().finite();
const breakerSchema = z
  .object({
    kind: z.enum(['consecutive', 'sampling']).optional(),
    threshold: positive.optional(),
    windowMs: positive.optional(),
    minimumRps: z.number().nonnegative().optional(),
    halfOpenAfterMs: positive.optional(),
    maxHalfOpenAfterMs: positive.optional(),
  })
  .strict();
const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(0).max(10).optional(),
    initialDelayMs: z.number().nonnegative().finite().optional(),
    maxDelayMs: positive.optional(),
  })
  .strict();
/** `false`, or a table checked by `schema` — with the table's own issue paths (a union would only say "Invalid input"). */
export function tableOrFalse<T extends z.ZodType>(schema: T) {
  return z.unknown().transform((value, ctx): z.infer<T> | false => {
    if (value === false) return false;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      const message =
        issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      ctx.addIssue({ code: 'custom', message, path: issue.path });
    }
    return z.NEVER;
  });
}

/** Schema of `ResilienceOptions` (camelCased); the config parser reports its issues with the file's paths. */
export const resilienceSchema = z
  .object({
    timeoutMs: positive.optional(),
    breaker: tableOrFalse(breakerSchema).optional(),
    retry: tableOrFalse(retrySchema).optional(),
  })
  .strict();

/** Validates `[<section>.resilience]` (camelCased keys); every problem in one IN002. */
export function parseResilienceOptions(section: Section, value: unknown): ResilienceOptions {
  const r = resilienceSchema.safeParse(value ?? {});
  if (r.success) return r.data as ResilienceOptions;
  const problems = r.error.issues.map(
    (i) => `${section}.resilience${i.path.length ? '.' : ''}${i.path.join('.')}: ${i.message}`,
  );
  throw IntegrationError.configuration(
    ErrorCode.InvalidConfiguration,
    `Invalid configuration:\n  ${problems.join('\n  ')}`,
  );
}
