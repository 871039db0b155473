/**
 * Leases as the coordination group validates them (ValidateLeaseSpec), with the fields of the
 * disabled CoordinatedLeaderElection feature (`strategy`, `preferredHolder`) dropped unless the
 * stored Lease already uses them, as the real strategy does.
 */
import { invalid, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

export function prepareLease(resource: ResourceInfo, lease: JsonObject, old?: JsonObject): void {
  const spec = isObject(lease.spec) ? lease.spec : {};
  const oldSpec = old && isObject(old.spec) ? old.spec : {};
  for (const field of ['strategy', 'preferredHolder']) {
    if (oldSpec[field] === undefined || oldSpec[field] === null) delete spec[field];
  }
  const errors: FieldError[] = [];
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseDurationSeconds',
      value: spec.leaseDurationSeconds,
      detail: 'must be greater than 0',
    });
  }
  if (typeof spec.leaseTransitions === 'number' && spec.leaseTransitions < 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseTransitions',
      value: spec.leaseTransitions,
      detail: 'must be greater than or equal to 0',
    });
  }
  if (errors.length) throw invalid(resource, String((lease.metadata as JsonObject).name), errors);
}
