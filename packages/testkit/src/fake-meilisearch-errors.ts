/**
 * Meilisearch's error model for the protocol double: the `{ message, code, type, link }` body, the
 * error the HTTP layer answers with, and the deserializer's wording for type errors.
 */

/** A Meilisearch error response body. */
export interface MeiliErrorBody {
  message: string;
  code: string;
  type: string;
  link: string;
}

/** An error the double answers with its HTTP status and engine body. */
export class MeiliError extends Error {
  override readonly name = 'MeiliError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'invalid_request' | 'auth' | 'internal' | 'system' = 'invalid_request',
  ) {
    super(message);
  }

  toBody(): MeiliErrorBody {
    return {
      message: this.message,
      code: this.code,
      type: this.type,
      link: `https://docs.meilisearch.com/errors#${this.code}`,
    };
  }
}

export const badRequest = (code: string, message: string): MeiliError => new MeiliError(400, code, message);

/** Describes a JSON value the way Meilisearch's deserializer does in its error messages. */
export function describeJson(v: unknown): string {
  if (v === null) return 'null: `null`';
  if (Array.isArray(v)) return `an array: \`${JSON.stringify(v)}\``;
  if (typeof v === 'number') {
    const kind = Number.isInteger(v) ? (v < 0 ? 'a negative integer' : 'a positive integer') : 'a float';
    return `${kind}: \`${v}\``;
  }
  if (typeof v === 'string') return `a string: \`${JSON.stringify(v)}\``;
  if (typeof v === 'boolean') return `a boolean: \`${v}\``;
  return `a map: \`${JSON.stringify(v)}\``;
}

export const typeError = (code: string, path: string, expected: string, v: unknown): MeiliError =>
  badRequest(code, `Invalid value type at \`.${path}\`: expected ${expected}, but found ${describeJson(v)}`);

export function unknownField(key: string, allowed: readonly string[]): MeiliError {
  return badRequest(
    'bad_request',
    `Unknown field \`${key}\`: expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`,
  );
}
