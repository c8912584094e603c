/** Errors of the Algolia protocol double. */

/** An error the HTTP layer returns as Algolia's `{"message", "status"}` body. */
export class AlgoliaHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
