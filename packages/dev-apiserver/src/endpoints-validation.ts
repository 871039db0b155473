/**
 * Endpoints and EndpointSlice rules of the real server: port protocols default to TCP;
 * EndpointSlices need an addressType (IPv4, IPv6 or FQDN, immutable), addresses of that type (one
 * to a hundred per endpoint), ports within 1-65535; Endpoints addresses must be IPs.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalid, notSupported, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];
const FQDN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function defaultAndCheckPorts(ports: unknown, field: string, errors: FieldError[]): void {
  if (!Array.isArray(ports)) return;
  ports.forEach((p, i) => {
    if (!isObject(p)) return;
    p.protocol ??= 'TCP';
    if (
      p.port !== undefined &&
      (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 0 || p.port > 65535)
    ) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `${field}[${i}].port`,
        value: p.port,
        detail: 'must be between 0 and 65535, inclusive',
      });
    }
  });
}

function addressErrors(type: unknown, address: unknown): boolean {
  if (typeof address !== 'string') return true;
  if (type === 'IPv4') return !isIPv4(address);
  if (type === 'IPv6') return !isIPv6(address);
  return !FQDN.test(address);
}

function endpointSliceErrors(slice: JsonObject, old?: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const type = slice.addressType;
  if (type === undefined) {
    errors.push({ type: 'FieldValueRequired', field: 'addressType', detail: '' });
  } else if (!ADDRESS_TYPES.includes(type as string)) {
    errors.push(notSupported('addressType', type, ['FQDN', 'IPv4', 'IPv6']));
  } else if (old && old.addressType !== type) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'addressType',
      value: type,
      detail: 'field is immutable',
    });
  }
  const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints : [];
  endpoints.forEach((endpoint, i) => {
    const addresses = isObject(endpoint) && Array.isArray(endpoint.addresses) ? endpoint.addresses : [];
    if (addresses.length === 0 || addresses.length > 100) {
      errors.push({
        type: 'FieldValueInvalid',
        field: `endpoints[${i}].addresses`,
        value: addresses,
        detail: 'must contain at least 1 and at most 100 addresses',
      });
    }
    addresses.forEach((address, j) => {
      if (type !== undefined && addressErrors(type, address)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `endpoints[${i}].addresses[${j}]`,
          value: address,
          detail: `must be a valid ${String(type)} address`,
        });
      }
    });
  });
  defaultAndCheckPorts(slice.ports, 'ports', errors);
  return errors;
}

function endpointsErrors(endpoints: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const subsets = Array.isArray(endpoints.subsets) ? endpoints.subsets : [];
  subsets.forEach((subset, i) => {
    if (!isObject(subset)) return;
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      const addresses = Array.isArray(subset[list]) ? (subset[list] as unknown[]) : [];
      addresses.forEach((a, j) => {
        const ip = isObject(a) ? a.ip : undefined;
        if (typeof ip !== 'string' || !(isIPv4(ip) || isIPv6(ip))) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `subsets[${i}].${list}[${j}].ip`,
            value: ip ?? '',
            detail: 'must be a valid IP address',
          });
        }
      });
    }
    defaultAndCheckPorts(subset.ports, `subsets[${i}].ports`, errors);
  });
  return errors;
}

/** Defaults and validates Endpoints and EndpointSlices (mutates `object`); 422 on errors. */
export function prepareEndpoints(resource: ResourceInfo, object: JsonObject, old?: JsonObject): void {
  let errors: FieldError[] = [];
  if (resource.kind === 'EndpointSlice') errors = endpointSliceErrors(object, old);
  else if (resource.kind === 'Endpoints') errors = endpointsErrors(object);
  if (errors.length) throw invalid(resource, String((object.metadata as JsonObject).name), errors);
}
