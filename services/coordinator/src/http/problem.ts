/** Errors as RFC 9457 problem+json with a stable `code`: the API's one error path (STYLE.md "Errors"). */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@fersweep/observability';
import { bodyParserProblem, BodyError } from '../body.js';
import { SweepError } from '../errors.js';
import { ReportPendingError } from '../reports.js';
import { principalOf, sweepIdFor as resolveFor } from '../tenancy/http.js';
import { PolicyError } from '../tenancy/policy.js';

export /** An API error as RFC 9457 problem+json with a stable `code`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function problem(
  res: Response,
  status: number,
  code: string,
  detail: string,
  field?: string,
  errors?: readonly { field: string; message: string }[],
  rule?: string,
) {
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `https://fersweep.dev/problems/${code}`,
      title: code,
      status,
      code,
      detail,
      ...(field !== undefined ? { field } : {}),
      ...(rule !== undefined ? { rule } : {}),
      ...(errors?.length ? { errors: errors.map((e) => ({ field: e.field, detail: e.message })) } : {}),
    });
}

/** Sweep and trial ids (DNS labels). */
export const ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The sweep id `/…/:id` names for this caller (tenancy/http.ts): 404 for one that cannot exist and
 * for another tenant's, exactly as for a missing one.
 */
export function sweepIdOf(req: Request, res: Response): string {
  const raw = String(req.params.id);
  const id = ID.test(raw) ? resolveFor(principalOf(res), raw) : undefined;
  if (!id) throw new ApiError(404, 'NotFound', `no sweep '${raw.slice(0, 80)}'`);
  return id;
}

/** Any path the API does not have. */
export function notFound(_req: Request, res: Response): void {
  problem(res, 404, 'NotFound', 'no such endpoint: see /openapi.json');
}

/** The error middleware (express 5 forwards rejected promises here): every error a problem, never a stack. */
export function errorHandler(logger: Logger, bodyLimit: string) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) return problem(res, err.status, err.code, err.message, err.field);
    if (err instanceof ReportPendingError) {
      res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return problem(res, 503, err.code, err.message);
    }
    if (err instanceof SweepError) {
      const status = { InvalidSpec: 422, TooManyTrials: 422, Conflict: 409, NotFound: 404 }[err.code];
      return problem(res, status, err.code, err.message, err.field, err.issues);
    }
    if (err instanceof PolicyError)
      return problem(res, err.status, err.code, err.message, err.field, undefined, err.rule);
    if (err instanceof BodyError) return problem(res, err.status, err.code, err.message);
    const parser = bodyParserProblem(err);
    if (parser) return problem(res, parser.status, parser.code, parser.detail);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large')
      return problem(res, 413, 'PayloadTooLarge', `the body is larger than ${bodyLimit}`);
    if (e.type === 'entity.parse.failed')
      return problem(res, 400, 'InvalidJson', `the body is not valid JSON: ${e.message ?? ''}`);
    logger.error('request failed', { error: err instanceof Error ? err.stack : String(err) });
    problem(res, 500, 'Internal', 'internal error: see the coordinator log');
  };
}
