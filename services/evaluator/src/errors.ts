/** Stable codes of evaluator errors, with the HTTP status each maps to. */
export const EVALUATOR_ERRORS = {
  /** A malformed sweep id, metric or other request value. */
  InvalidArgument: 400,
  /** No or a wrong bearer token on /v1 or a report page. */
  Unauthorized: 401,
  /** No sweep with that id, in memory or in the store. */
  SweepNotFound: 404,
  /** No such route. */
  NotFound: 404,
  /** The evaluator is starting or shutting down. */
  NotReady: 503,
  /** A bad configuration value (names the environment variable). */
  InvalidConfig: 500,
  /** Anything unexpected. */
  Internal: 500,
} as const;

export type EvaluatorErrorCode = keyof typeof EVALUATOR_ERRORS;

/** Every evaluator failure a caller can act on: `code` is stable, `message` one line that says what to do. */
export class EvaluatorError extends Error {
  override readonly name = 'EvaluatorError';
  constructor(
    readonly code: EvaluatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The HTTP status of this code. */
  get status(): number {
    return EVALUATOR_ERRORS[this.code];
  }
}
