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
  reason: string;
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
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
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
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
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

/** One field error, worded like k8s.io/apimachinery/pkg/util/validation/field. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueDuplicate';
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
    case 'FieldValueDuplicate':
      return `Duplicate value: ${JSON.stringify(error.value ?? null)}`;
  }
}

export function invalid(resource: ResourceInfo, name: string, errors: FieldError[]): ApiError {
  const causes = errors.map((e) => ({ reason: e.type, message: fieldErrorMessage(e), field: e.field }));
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const details: StatusDetails = { name, kind: resource.kind, causes };
  if (resource.group) details.group = resource.group;
  return new ApiError(
    422,
    'Invalid',
    `${resource.kind} "${name}" is invalid: ${errors.length > 1 ? `[${summary}]` : summary}`,
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

export function plainNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}
