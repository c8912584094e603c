import { ErrorCode, IntegrationError, isIntegrationError } from '../errors';

/**
 * Collects every problem of a definition so one IN002 lists them all (fixing them one run at a
 * time is tedious). `tag` prefixes the message and names the field: `[observers] …`.
 */
export class Problems {
  readonly list: string[] = [];
  constructor(private readonly tag: string) {}

  add(message: string): void {
    this.list.push(message);
  }

  /** Runs `fn`, recording its IntegrationError instead of throwing. */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!isIntegrationError(err)) throw err;
      this.list.push(err.message);
      return undefined;
    }
  }

  /** Records a problem unless `v` is undefined or a positive number (integer when asked). */
  positive(v: unknown, where: string, integer = false): void {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
      this.add(`${where} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }

  /** IN002 listing every recorded problem; nothing when there is none. */
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    throw new IntegrationError(
      ErrorCode.InvalidConfiguration,
      `[${this.tag}] ${what}: ${this.list.length} problem(s): ${this.list.join('; ')}`,
      { kind: 'configuration', field: this.tag },
    );
  }
}
