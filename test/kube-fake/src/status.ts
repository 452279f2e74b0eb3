/**
 * metav1.Status errors exactly as the API server shapes them (k8s.io/apimachinery/pkg/api/errors):
 * `{ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code }`.
 * client-node's ApiException carries this body (as text) in `.body`.
 */

/** metav1.StatusReason values this fake produces. */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unknown';

/** metav1.CauseType values of field errors (k8s.io/apimachinery/pkg/util/validation/field). */
export type CauseType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'UnexpectedServerResponse';

/** metav1.StatusCause. */
export interface StatusCause {
  reason?: CauseType;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status, the body of every error response (and of some successful deletes). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { resourceVersion?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

const REASON_BY_CODE: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The StatusReason the API server uses for an HTTP code. */
export function reasonForCode(code: number): StatusReason {
  return REASON_BY_CODE[code] ?? 'Unknown';
}

/** An API error: answered as a `Status` body with `code` as the HTTP status. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The metav1.Status body. */
  toStatus(): KubeStatus {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

/** A `status: Failure` Status object. */
export function failureStatus(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

/** Group/resource as the server qualifies it in messages: `jobs.batch`, `pods`. */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);
const grDetails = (gr: GroupResource, name: string): StatusDetails =>
  gr.group ? { name, group: gr.group, kind: gr.resource } : { name, kind: gr.resource };

/** 404 `jobs.batch "x" not found`. */
export function notFound(gr: GroupResource, name: string): KubeApiError {
  return new KubeApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, grDetails(gr, name));
}

/** 409 AlreadyExists `jobs.batch "x" already exists`. */
export function alreadyExists(gr: GroupResource, name: string): KubeApiError {
  return new KubeApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, grDetails(gr, name));
}

/** 409 Conflict (optimistic concurrency or precondition). */
export function conflict(gr: GroupResource, name: string, why: string): KubeApiError {
  return new KubeApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
    grDetails(gr, name),
  );
}

/** 400 BadRequest. */
export function badRequest(message: string): KubeApiError {
  return new KubeApiError(400, 'BadRequest', message);
}

/** 410 Expired: a resourceVersion or continue token older than the retained window. */
export function expired(message: string): KubeApiError {
  return new KubeApiError(410, 'Expired', message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): KubeApiError {
  return new KubeApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** 404 for a path that names no resource. */
export function noSuchPath(): KubeApiError {
  return new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
}

// ---------------------------------------------------------------------------------------------
// Field errors (k8s.io/apimachinery/pkg/util/validation/field)

/** Formats a bad value the way Go's `%q`/`%v` does in field errors (JSON is close enough). */
function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined || v === null) return 'null';
  return JSON.stringify(v);
}

/** One field error; `toString()` renders `field: Invalid value: "x": detail` as the server does. */
export class FieldError {
  constructor(
    readonly type: CauseType,
    readonly field: string,
    readonly body: string,
  ) {}
  toString(): string {
    return `${this.field}: ${this.body}`;
  }
  toCause(): StatusCause {
    return { reason: this.type, message: this.body, field: this.field };
  }
}

const OMIT = Symbol('omit value');

/** Constructors for field errors with the server's wording. */
export const fieldError = {
  invalid(path: string, value: unknown, detail: string): FieldError {
    const body = value === OMIT ? `Invalid value: ${detail}` : `Invalid value: ${formatValue(value)}: ${detail}`;
    return new FieldError('FieldValueInvalid', path, body);
  },
  /** An Invalid error whose value is not worth printing (field.OmitValueType). */
  invalidOmitValue(path: string, detail: string): FieldError {
    return fieldError.invalid(path, OMIT, detail);
  },
  required(path: string, detail = ''): FieldError {
    return new FieldError('FieldValueRequired', path, detail ? `Required value: ${detail}` : 'Required value');
  },
  notSupported(path: string, value: unknown, supported: readonly string[]): FieldError {
    const list = supported.map((s) => JSON.stringify(s)).join(', ');
    return new FieldError(
      'FieldValueNotSupported',
      path,
      `Unsupported value: ${formatValue(value)}${list ? `: supported values: ${list}` : ''}`,
    );
  },
  duplicate(path: string, value: unknown): FieldError {
    return new FieldError('FieldValueDuplicate', path, `Duplicate value: ${formatValue(value)}`);
  },
  forbidden(path: string, detail: string): FieldError {
    return new FieldError('FieldValueForbidden', path, `Forbidden: ${detail}`);
  },
  tooLong(path: string, max: number): FieldError {
    return new FieldError('FieldValueTooLong', path, `Too long: may not be more than ${max} bytes`);
  },
  tooMany(path: string, actual: number, max: number): FieldError {
    return new FieldError('FieldValueTooMany', path, `Too many: ${actual}: must have at most ${max} items`);
  },
};

/**
 * 422 Invalid, as `errors.NewInvalid(kind, name, errs)`: message `Job.batch "x" is invalid: <errs>`
 * (one error bare, several in brackets), one `details.causes` entry per field error.
 */
export function invalid(
  kind: { group: string; kind: string },
  name: string,
  errors: readonly FieldError[],
): KubeApiError {
  const qualifiedKind = kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
  const aggregate = errors.length === 1 ? String(errors[0]) : `[${errors.map(String).join(', ')}]`;
  const details: StatusDetails = { name, kind: kind.kind, causes: errors.map((e) => e.toCause()) };
  if (kind.group) details.group = kind.group;
  return new KubeApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${aggregate}`, details);
}
