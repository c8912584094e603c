/**
 * Elasticsearch's error body: `{ error: { root_cause: [...], type, reason, ... }, status }`
 * (https://www.elastic.co/docs/api/doc/elasticsearch — every API answers errors in this shape).
 */
export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }

  /** The `error` object as it appears in a response, or in a bulk item. */
  errorObject(): Record<string, unknown> {
    return { type: this.type, reason: this.reason, ...this.extra };
  }

  toBody(): Record<string, unknown> {
    const cause = this.errorObject();
    return { error: { root_cause: [cause], ...cause }, status: this.status };
  }
}

export const indexNotFound = (index: string): EsError =>
  new EsError(404, 'index_not_found_exception', `no such index [${index}]`, {
    'resource.type': 'index_or_alias',
    'resource.id': index,
    index_uuid: '_na_',
    index,
  });

export const badRequest = (reason: string, type = 'illegal_argument_exception'): EsError =>
  new EsError(400, type, reason);

export const parsingError = (reason: string): EsError => new EsError(400, 'parsing_exception', reason);

export const FIELDDATA_REASON = (field: string): string =>
  `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`;
