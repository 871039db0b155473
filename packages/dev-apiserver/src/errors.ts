/**
 * API errors as the real kube-apiserver reports them: a `Status` object (meta/v1) with an HTTP code,
 * a machine-readable reason and details naming the object. Clients (client-go, kubectl,
 * @kubernetes/client-node) branch on `reason` and `code`, so both must match the real server.
 */
import type { ResourceInfo } from './resources.js';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'Expired'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'Forbidden'
  | 'Timeout'
  | 'InternalError';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, string>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  /** The Status's list metadata (an expired continue token's replacement). */
  listMeta?: Record<string, string>;

  constructor(
    readonly code: number,
    readonly reason: StatusReason | undefined,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: { ...this.listMeta },
      status: 'Failure',
      message: this.message,
      ...(this.reason ? { reason: this.reason } : {}),
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** `services "x"` or `ingresses.networking.k8s.io "x"`: how the real server names an object in messages. */
export function qualifiedName(resource: ResourceInfo): string {
  return resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
}

function objectDetails(resource: ResourceInfo, name: string): StatusDetails {
  const details: StatusDetails = { name, kind: resource.plural };
  if (resource.group) details.group = resource.group;
  return details;
}

export function notFound(resource: ResourceInfo, name: string): ApiError {
  return new ApiError(
    404,
    'NotFound',
    `${qualifiedName(resource)} "${name}" not found`,
    objectDetails(resource, name),
  );
}

export function alreadyExists(resource: ResourceInfo, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedName(resource)} "${name}" already exists`,
    objectDetails(resource, name),
  );
}

export function conflict(resource: ResourceInfo, name: string, why?: string): ApiError {
  const reason =
    why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(resource)} "${name}": ${reason}`,
    objectDetails(resource, name),
  );
}

/** A conflict that names the kind (`Ingress.networking.k8s.io "x"`) instead of the resource. */
export function kindConflict(resource: ResourceInfo, name: string, why: string): ApiError {
  const kind = resource.group ? `${resource.kind}.${resource.group}` : resource.kind;
  const details: StatusDetails = { name, kind: resource.kind };
  if (resource.group) details.group = resource.group;
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${kind} "${name}": ${why}`, details);
}

/** What deleting an object answers for kinds that do not return it: a Status of Success. */
export function deletedStatus(resource: ResourceInfo, name: string, uid: unknown): Record<string, unknown> {
  const details: Record<string, unknown> = { name };
  if (resource.group) details.group = resource.group;
  details.kind = resource.plural;
  if (typeof uid === 'string') details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** One field error, worded like k8s.io/apimachinery/pkg/util/validation/field. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueDuplicate'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany';
  field: string;
  detail: string;
  value?: unknown;
}

/** A FieldValueNotSupported error that lists the values FIELD takes, in the order given. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: `supported values: "${supported.join('", "')}"`,
  };
}

function fieldErrorMessage(error: FieldError): string {
  switch (error.type) {
    case 'FieldValueRequired':
      return `Required value${error.detail ? `: ${error.detail}` : ''}`;
    case 'FieldValueInvalid':
      return `Invalid value: ${JSON.stringify(error.value ?? null)}: ${error.detail}`;
    case 'FieldValueNotSupported':
      return `Unsupported value: ${JSON.stringify(error.value ?? null)}${error.detail ? `: ${error.detail}` : ''}`;
    case 'FieldValueForbidden':
      return `Forbidden: ${error.detail}`;
    case 'FieldValueTooLong':
      return `Too long: ${error.detail}`;
    case 'FieldValueTooMany':
      return `Too many: ${JSON.stringify(error.value ?? null)}: ${error.detail}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${JSON.stringify(error.value ?? null)}`;
  }
}

export function invalid(resource: ResourceInfo, name: string, errors: FieldError[]): ApiError {
  return invalidFromCauses(
    resource,
    name,
    errors.map((e) => ({ reason: e.type, message: fieldErrorMessage(e), field: e.field })),
  );
}

/** ERRORS first, then the causes of the 422 AFTER: one Invalid error, as one validation pass gives. */
export function combineInvalid(
  resource: ResourceInfo,
  name: string,
  errors: FieldError[],
  after: ApiError,
): ApiError {
  if (after.code !== 422 || !after.details?.causes) return after;
  return invalidFromCauses(resource, name, [
    ...errors.map((e) => ({ reason: e.type, message: fieldErrorMessage(e), field: e.field })),
    ...after.details.causes,
  ]);
}

/** NewInvalid: the message names the group kind and lists each distinct error once. */
function invalidFromCauses(resource: ResourceInfo, name: string, causes: StatusCause[]): ApiError {
  const distinct = [...new Set(causes.map((c) => `${c.field}: ${c.message}`))];
  const summary = distinct.join(', ');
  const kind = resource.group ? `${resource.kind}.${resource.group}` : resource.kind;
  const details: StatusDetails = { ...(name ? { name } : {}), kind: resource.kind, causes };
  if (resource.group) details.group = resource.group;
  return new ApiError(
    422,
    'Invalid',
    `${kind} "${name}" is invalid: ${distinct.length > 1 ? `[${summary}]` : summary}`,
    details,
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(
  message = 'the server does not allow this method on the requested resource',
): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

/** The watch/list answer for a resourceVersion that fell out of the retained history. */
export function expired(requested: number, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** A watch from a resourceVersion the server has not reached yet. */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
  });
}

/** A 422 about the list options (ListOptions.meta.k8s.io). */
export function listOptionsInvalid(field: string, reason: string, message: string): ApiError {
  const body = reason === 'FieldValueForbidden' ? `Forbidden: ${message}` : message;
  return new ApiError(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${field}: ${body}`, {
    group: 'meta.k8s.io',
    kind: 'ListOptions',
    causes: [{ reason, message: body, field }],
  });
}

/** NewInternalError: a 500 with the cause as its only detail. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message } as StatusCause],
  });
}

export function plainNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/**
 * A resourceVersion that is not a number: the real server's storage fails to parse it and
 * answers 500 with the parser's words and no reason.
 */
export function invalidResourceVersion(value: string): ApiError {
  return new ApiError(
    500,
    undefined,
    `resourceVersion: Invalid value: ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`,
  );
}
