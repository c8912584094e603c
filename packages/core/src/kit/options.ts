import { ErrorCode, IntegrationError } from '../errors';

/** IN002 with the provider's tag in front: `[redis] scanCount must be …`. */
export function configError(provider: string, message: string, field?: string): IntegrationError {
  return new IntegrationError(
    ErrorCode.InvalidConfiguration,
    `[${provider}] ${message}`,
    field === undefined ? { kind: 'configuration' } : { kind: 'configuration', field },
  );
}

/** Rules of one numeric factory option. */
export interface NumberOptionRules {
  /** Tag of the message, e.g. `'redis'` → `[redis] …`. */
  provider: string;
  /** Only whole numbers. Default false. */
  integer?: boolean;
  /** Smallest allowed value (inclusive). Default: any value above 0. */
  min?: number;
  /** Largest allowed value (inclusive). Default: none. */
  max?: number;
  /** What the number counts, for the message (`'milliseconds'`). Default: none. */
  unit?: string;
}

function describe(rules: NumberOptionRules): string {
  const kind = rules.integer ? 'integer' : 'number';
  const unit = rules.unit ? ` of ${rules.unit}` : '';
  if (rules.min === undefined || (rules.integer && rules.min === 1 && rules.max === undefined)) {
    const upper = rules.max === undefined ? '' : ` of at most ${rules.max}`;
    return `a positive ${kind}${unit}${upper}`;
  }
  if (rules.max !== undefined)
    return `${rules.integer ? 'an' : 'a'} ${kind}${unit} from ${rules.min} to ${rules.max}`;
  if (rules.min === 0) return `a non-negative ${kind}${unit}`;
  return `${rules.integer ? 'an' : 'a'} ${kind}${unit} of at least ${rules.min}`;
}

/**
 * A numeric option: `fallback` when undefined, the value when it fits `rules`, else IN002 naming
 * the option and the value. One check for every factory, so messages read the same everywhere.
 */
export function numberOption<F extends number | undefined>(
  value: unknown,
  name: string,
  fallback: F,
  rules: NumberOptionRules,
): number | F {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rules.integer || Number.isSafeInteger(value)) &&
    (rules.min === undefined ? value > 0 : value >= rules.min) &&
    (rules.max === undefined || value <= rules.max);
  if (!ok) {
    throw configError(rules.provider, `${name} must be ${describe(rules)}, got ${String(value)}`, name);
  }
  return value as number;
}

/** A number > 0 (`unit` only shapes the message). */
export function positiveOption<F extends number | undefined>(
  value: unknown,
  name: string,
  fallback: F,
  provider: string,
  unit?: string,
): number | F {
  return numberOption(value, name, fallback, unit === undefined ? { provider } : { provider, unit });
}

/** A whole number ≥ 1. */
export function positiveIntOption<F extends number | undefined>(
  value: unknown,
  name: string,
  fallback: F,
  provider: string,
): number | F {
  return numberOption(value, name, fallback, { provider, integer: true, min: 1 });
}

/** A whole number ≥ 0. */
export function nonNegativeIntOption<F extends number | undefined>(
  value: unknown,
  name: string,
  fallback: F,
  provider: string,
): number | F {
  return numberOption(value, name, fallback, { provider, integer: true, min: 0 });
}

/** A non-empty string option, or `fallback`; IN002 otherwise. */
export function stringOption<F extends string | undefined>(
  value: unknown,
  name: string,
  fallback: F,
  provider: string,
  pattern?: RegExp,
): string | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || (pattern && !pattern.test(value))) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw configError(
      provider,
      `${name} must be a non-empty string${pattern ? ` matching ${pattern}` : ''}, got ${shown}`,
      name,
    );
  }
  return value;
}

/** The options argument of a factory must be an object (IN002). */
export function assertOptionsObject(
  value: unknown,
  provider: string,
): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(provider, 'options must be an object');
  }
}
