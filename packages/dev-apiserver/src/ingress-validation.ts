/**
 * The networking.k8s.io/v1 validation rules the real server applies to Ingress and IngressClass
 * objects that matter to an ingress controller: a rule or a default backend, `pathType` on every
 * path, absolute paths for Exact and Prefix, one backend kind, one port form, valid hosts, and an
 * immutable IngressClass controller.
 */
import { invalid, notSupported, type FieldError } from './errors.js';
import { isIPv4, isIPv6 } from 'node:net';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'];
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkBackend(backend: unknown, field: string, errors: FieldError[]): void {
  if (!isObject(backend)) {
    errors.push({ type: 'FieldValueRequired', field, detail: '' });
    return;
  }
  const { service, resource } = backend;
  if (service !== undefined && resource !== undefined) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: backend,
      detail: 'cannot set both service and resource backends',
    });
    return;
  }
  if (service === undefined && resource === undefined) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: backend,
      detail: 'one of `service` or `resource` must be specified',
    });
    return;
  }
  if (!isObject(service)) return;
  if (typeof service.name !== 'string' || service.name === '') {
    errors.push({ type: 'FieldValueRequired', field: `${field}.service.name`, detail: '' });
  }
  const port = isObject(service.port) ? service.port : {};
  const hasName = typeof port.name === 'string' && port.name !== '';
  const hasNumber = port.number !== undefined && port.number !== 0;
  if (hasName === hasNumber) {
    errors.push({
      type: 'FieldValueInvalid',
      field: `${field}.service.port`,
      value: service.port ?? null,
      detail: 'port name or number is required (not both)',
    });
  } else if (
    hasNumber &&
    (typeof port.number !== 'number' ||
      !Number.isInteger(port.number) ||
      port.number < 1 ||
      port.number > 65535)
  ) {
    errors.push({
      type: 'FieldValueInvalid',
      field: `${field}.service.port.number`,
      value: port.number,
      detail: 'must be between 1 and 65535, inclusive',
    });
  }
}

function ingressErrors(ingress: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isObject(ingress.spec) ? ingress.spec : {};
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  if (spec.defaultBackend === undefined && rules.length === 0) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec',
      value: 'null',
      detail: 'either `defaultBackend` or `rules` must be specified',
    });
  }
  if (spec.defaultBackend !== undefined) checkBackend(spec.defaultBackend, 'spec.defaultBackend', errors);
  if (
    spec.ingressClassName !== undefined &&
    (typeof spec.ingressClassName !== 'string' || !DNS_SUBDOMAIN.test(spec.ingressClassName))
  ) {
    errors.push({
      type: 'FieldValueInvalid',
      field: 'spec.ingressClassName',
      value: spec.ingressClassName,
      detail: 'must be a lowercase RFC 1123 subdomain',
    });
  }
  rules.forEach((rule, i) => {
    const field = `spec.rules[${i}]`;
    if (!isObject(rule)) return;
    const host = rule.host;
    if (host !== undefined && host !== '') {
      if (typeof host !== 'string' || isIPv4(host) || isIPv6(host)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.host`,
          value: host,
          detail: 'must be a DNS name, not an IP address',
        });
      } else if (!HOST.test(host)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.host`,
          value: host,
          detail: 'a lowercase RFC 1123 subdomain or a wildcard DNS-1123 subdomain',
        });
      }
    }
    const http = rule.http;
    if (http === undefined) return;
    const paths = isObject(http) && Array.isArray(http.paths) ? http.paths : [];
    if (paths.length === 0)
      errors.push({ type: 'FieldValueRequired', field: `${field}.http.paths`, detail: '' });
    paths.forEach((path, j) => {
      const pathField = `${field}.http.paths[${j}]`;
      if (!isObject(path)) return;
      if (path.pathType === undefined) {
        errors.push({
          type: 'FieldValueRequired',
          field: `${pathField}.pathType`,
          detail: 'pathType must be specified',
        });
      } else if (!PATH_TYPES.includes(path.pathType as string)) {
        errors.push(
          notSupported(`${pathField}.pathType`, path.pathType, ['Exact', 'ImplementationSpecific', 'Prefix']),
        );
      } else if (
        path.pathType !== 'ImplementationSpecific' &&
        (typeof path.path !== 'string' || !path.path.startsWith('/'))
      ) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${pathField}.path`,
          value: path.path ?? '',
          detail: 'must be an absolute path',
        });
      }
      checkBackend(path.backend, `${pathField}.backend`, errors);
    });
  });
  return errors;
}

function ingressClassErrors(ingressClass: JsonObject, old?: JsonObject): FieldError[] {
  const spec = isObject(ingressClass.spec) ? ingressClass.spec : {};
  const controller = spec.controller;
  if (typeof controller !== 'string' || controller === '') {
    return [{ type: 'FieldValueRequired', field: 'spec.controller', detail: '' }];
  }
  const oldController = old && isObject(old.spec) ? old.spec.controller : undefined;
  if (old && oldController !== controller) {
    return [
      {
        type: 'FieldValueInvalid',
        field: 'spec.controller',
        value: controller,
        detail: 'field is immutable',
      },
    ];
  }
  return [];
}

/** Throws 422 Invalid when an Ingress or IngressClass breaks the rules above. */
export function validateNetworking(resource: ResourceInfo, object: JsonObject, old?: JsonObject): void {
  let errors: FieldError[] = [];
  if (resource.kind === 'Ingress') errors = ingressErrors(object);
  else if (resource.kind === 'IngressClass') errors = ingressClassErrors(object, old);
  if (errors.length) throw invalid(resource, String((object.metadata as JsonObject).name), errors);
}
