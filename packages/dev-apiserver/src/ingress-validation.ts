/**
 * The networking.k8s.io/v1 validation of Ingress and IngressClass objects, ported from the real
 * server (k8s.io/kubernetes/pkg/apis/networking/validation) with its field paths and messages:
 * a rule or a default backend; valid hosts (wildcards allowed, not IPs); `pathType` on every
 * path, absolute and clean paths for Exact and Prefix; one backend kind and one port form; TLS
 * hosts and secret names; a DNS name as ingressClassName; a domain-prefixed, immutable
 * IngressClass controller and a complete parameters reference.
 */
import { isIP } from 'node:net';
import { invalid, notSupported, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';
import { isDNS1123Label, isDNS1123Subdomain, isWildcardDNS1123Subdomain, regexError } from './validation.js';

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const HTTP_PATH_FORMAT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const HTTP_PATH = new RegExp(`^${HTTP_PATH_FORMAT}$`);

const invalidAt =
  (field: string, value: unknown) =>
  (detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });

/** validation.IsValidPortName. */
export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** content.IsPathSegmentName. */
function isPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

function backendErrors(backend: unknown, field: string): FieldError[] {
  const b = isObject(backend) ? backend : {};
  const service = isObject(b.service) ? b.service : undefined;
  const resource = isObject(b.resource) ? b.resource : undefined;
  if (service && resource) return [invalidAt(field, '')('cannot set both resource and service backends')];
  if (resource) return referenceErrors(resource, `${field}.resource`, false);
  if (!service) return [invalidAt(field, '')('resource or service backend is required')];
  const errors: FieldError[] = [];
  const name = typeof service.name === 'string' ? service.name : '';
  if (name === '') errors.push(required(`${field}.service.name`));
  else errors.push(...isDNS1123Label(name).map(invalidAt(`${field}.service.name`, name)));
  const port = isObject(service.port) ? service.port : {};
  const portName = typeof port.name === 'string' ? port.name : '';
  const portNumber = typeof port.number === 'number' ? port.number : 0;
  if (portName && portNumber) {
    errors.push(invalidAt(field, '')('cannot set both port name & port number'));
  } else if (portName) {
    errors.push(...isValidPortName(portName).map(invalidAt(`${field}.service.port.name`, portName)));
  } else if (portNumber) {
    if (portNumber < 1 || portNumber > 65535)
      errors.push(
        invalidAt(`${field}.service.port.number`, portNumber)('must be between 1 and 65535, inclusive'),
      );
  } else {
    errors.push(required(field, 'port name or number is required'));
  }
  return errors;
}

/** A TypedLocalObjectReference (resource backends) or an IngressClass parameters reference. */
function referenceErrors(ref: JsonObject, field: string, withScope: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof ref.apiGroup === 'string')
    errors.push(...isDNS1123Subdomain(ref.apiGroup).map(invalidAt(`${field}.apiGroup`, ref.apiGroup)));
  for (const key of ['kind', 'name'] as const) {
    const value = typeof ref[key] === 'string' ? (ref[key] as string) : '';
    if (value === '') errors.push(required(`${field}.${key}`));
    else errors.push(...isPathSegmentName(value).map(invalidAt(`${field}.${key}`, value)));
  }
  if (!withScope) return errors;
  if (ref.scope === undefined) {
    errors.push(required(`${field}.scope`));
    return errors;
  }
  if (ref.scope !== 'Cluster' && ref.scope !== 'Namespace') {
    errors.push(notSupported(`${field}.scope`, ref.scope, ['Cluster', 'Namespace']));
  } else if (ref.scope === 'Namespace') {
    if (typeof ref.namespace !== 'string') {
      errors.push(required(`${field}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    } else {
      errors.push(...isDNS1123Label(ref.namespace).map(invalidAt(`${field}.namespace`, ref.namespace)));
    }
  } else if (ref.namespace !== undefined) {
    errors.push({
      type: 'FieldValueForbidden',
      field: `${field}.namespace`,
      detail: "`parameters.scope` is set to 'Cluster'",
    });
  }
  return errors;
}

function pathErrors(path: JsonObject, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (path.pathType === undefined) return [required(`${field}.pathType`, 'pathType must be specified')];
  const value = typeof path.path === 'string' ? path.path : '';
  const at = invalidAt(`${field}.path`, value);
  if (path.pathType === 'Exact' || path.pathType === 'Prefix') {
    if (!value.startsWith('/')) errors.push(at('must be an absolute path'));
    if (value.length > 0) {
      for (const seq of INVALID_PATH_SEQUENCES)
        if (value.includes(seq)) errors.push(at(`must not contain '${seq}'`));
      for (const suffix of INVALID_PATH_SUFFIXES)
        if (value.endsWith(suffix)) errors.push(at(`cannot end with '${suffix}'`));
    }
  } else if (path.pathType === 'ImplementationSpecific') {
    if (value.length > 0 && !value.startsWith('/')) errors.push(at('must be an absolute path'));
  } else {
    errors.push(notSupported(`${field}.pathType`, path.pathType, PATH_TYPES));
  }
  errors.push(...backendErrors(path.backend, `${field}.backend`));
  return errors;
}

function hostErrors(host: string, field: string): FieldError[] {
  const at = invalidAt(field, host);
  return host.includes('*') ? isWildcardDNS1123Subdomain(host).map(at) : isDNS1123Subdomain(host).map(at);
}

function ingressErrors(ingress: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isObject(ingress.spec) ? ingress.spec : {};
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  if (rules.length === 0 && spec.defaultBackend === undefined) {
    errors.push(invalidAt('spec', null)('either `defaultBackend` or `rules` must be specified'));
  }
  if (spec.defaultBackend !== undefined)
    errors.push(...backendErrors(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((raw, i) => {
    const rule = isObject(raw) ? raw : {};
    const field = `spec.rules[${i}]`;
    const host = typeof rule.host === 'string' ? rule.host : '';
    if (host) {
      if (isIP(host)) errors.push(invalidAt(`${field}.host`, host)('must be a DNS name, not an IP address'));
      errors.push(...hostErrors(host, `${field}.host`));
    }
    if (isObject(rule.http)) {
      const paths = Array.isArray(rule.http.paths) ? rule.http.paths : [];
      if (paths.length === 0) errors.push(required(`${field}.http.paths`));
      paths.forEach((p, j) => errors.push(...pathErrors(isObject(p) ? p : {}, `${field}.http.paths[${j}]`)));
    }
  });
  const tls = Array.isArray(spec.tls) ? spec.tls : [];
  tls.forEach((raw, i) => {
    const entry = isObject(raw) ? raw : {};
    const hosts = Array.isArray(entry.hosts) ? entry.hosts : [];
    hosts.forEach((h, j) => errors.push(...hostErrors(String(h), `spec.tls[${i}].hosts[${j}]`)));
    const secret = typeof entry.secretName === 'string' ? entry.secretName : '';
    if (secret)
      errors.push(...isDNS1123Subdomain(secret).map(invalidAt(`spec.tls[${i}].secretName`, secret)));
  });
  if (typeof spec.ingressClassName === 'string') {
    errors.push(
      ...isDNS1123Subdomain(spec.ingressClassName).map(
        invalidAt('spec.ingressClassName', spec.ingressClassName),
      ),
    );
  }
  const annotation = isObject((ingress.metadata as JsonObject).annotations)
    ? ((ingress.metadata as JsonObject).annotations as JsonObject)['kubernetes.io/ingress.class']
    : undefined;
  if (
    typeof annotation === 'string' &&
    typeof spec.ingressClassName === 'string' &&
    annotation !== spec.ingressClassName
  ) {
    errors.push(
      invalidAt(
        'annotations.kubernetes.io/ingress.class',
        annotation,
      )('must match `ingressClassName` when both are specified'),
    );
  }
  return errors;
}

/** validation.IsDomainPrefixedPath. */
function domainPrefixedPathErrors(value: string, field: string): FieldError[] {
  if (value === '') return [required(field)];
  const slash = value.indexOf('/');
  const host = slash >= 0 ? value.slice(0, slash) : value;
  const path = slash >= 0 ? value.slice(slash + 1) : '';
  if (slash < 0 || host === '' || path === '') {
    return [invalidAt(field, value)('must be a domain-prefixed path (such as "acme.io/foo")')];
  }
  const errors = isDNS1123Subdomain(host).map(invalidAt(field, host));
  if (!HTTP_PATH.test(path))
    errors.push(invalidAt(field, path)(regexError('Invalid path', HTTP_PATH_FORMAT)));
  return errors;
}

function ingressClassErrors(ingressClass: JsonObject, old?: JsonObject): FieldError[] {
  const spec = isObject(ingressClass.spec) ? ingressClass.spec : {};
  const controller = typeof spec.controller === 'string' ? spec.controller : '';
  const errors: FieldError[] = [];
  const oldSpec = old && isObject(old.spec) ? old.spec : undefined;
  if (oldSpec && oldSpec.controller !== spec.controller) {
    errors.push(invalidAt('spec.controller', controller)('field is immutable'));
  }
  if (controller.length > 250) {
    errors.push({
      type: 'FieldValueTooLong',
      field: 'spec.controller',
      detail: 'may not be more than 250 bytes',
    });
  }
  errors.push(...domainPrefixedPathErrors(controller, 'spec.controller'));
  if (isObject(spec.parameters)) errors.push(...referenceErrors(spec.parameters, 'spec.parameters', true));
  return errors;
}

/** Throws 422 Invalid when an Ingress or IngressClass breaks the rules above. */
export function validateNetworking(resource: ResourceInfo, object: JsonObject, old?: JsonObject): void {
  let errors: FieldError[] = [];
  if (resource.kind === 'Ingress') errors = ingressErrors(object);
  else if (resource.kind === 'IngressClass') errors = ingressClassErrors(object, old);
  if (errors.length) throw invalid(resource, String((object.metadata as JsonObject).name), errors);
}
