/** A step failure; `permanent` ones go straight to the DLQ, others are retried. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export const permanent = (message: string, details?: unknown) => new StepError(message, true, details);
export const transient = (message: string, details?: unknown) => new StepError(message, false, details);
