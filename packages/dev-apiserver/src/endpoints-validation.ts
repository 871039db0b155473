/**
 * Endpoints and EndpointSlice rules of the real server: Endpoints port protocols default to TCP
 * and addresses must be IPs; EndpointSlices are validated as the discovery group does it (an
 * addressType, immutable; one to a hundred addresses of that type per endpoint, none loopback or
 * link-local; unique DNS-label port names, a protocol per port).
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { invalid, notSupported, type FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { isDNS1123Label, isDNS1123Subdomain, isLabelKey } from './validation.js';
import type { ResourceInfo } from './resources.js';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

const invalidAt =
  (field: string, value: unknown) =>
  (detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });

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

/** ValidateEndpointIP: no unspecified, loopback, link-local or link-local multicast addresses. */
export function endpointIPErrors(address: string, field: string): FieldError[] {
  const at = invalidAt(field, address);
  const errors: FieldError[] = [];
  const v4 = isIPv4(address) ? address.split('.').map(Number) : undefined;
  const v6 = isIPv6(address) ? address.toLowerCase() : undefined;
  if (address === '0.0.0.0' || v6 === '::') errors.push(at(`may not be unspecified (${address})`));
  if (v4?.[0] === 127 || v6 === '::1')
    errors.push(at('may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if ((v4?.[0] === 169 && v4[1] === 254) || /^fe[89ab]/.test(v6 ?? '')) {
    errors.push(at('may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  }
  if ((v4?.[0] === 224 && v4[1] === 0 && v4[2] === 0) || /^ff02:/.test(v6 ?? '')) {
    errors.push(at('may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return errors;
}

const IP_EXAMPLE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** validation.IsFullyQualifiedDomainName. */
function fqdnErrors(value: string, field: string): FieldError[] {
  if (value === '') return [required(field)];
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const subdomain = isDNS1123Subdomain(name);
  if (subdomain.length) return [invalidAt(field, name)(subdomain.join(','))];
  if (name.split('.').length < 2)
    return [invalidAt(field, name)('should be a domain with at least two segments separated by dots')];
  for (const label of name.split('.')) {
    const errs = isDNS1123Label(label);
    if (errs.length) return [invalidAt(field, label)(errs.join(','))];
  }
  return [];
}

/** ValidateEndpointSlice (and its update) as the discovery API group validates it. */
function endpointSliceErrors(slice: JsonObject, old?: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const type = slice.addressType;
  if (type === undefined || type === '') errors.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(type as string))
    errors.push(notSupported('addressType', type, ADDRESS_TYPES));
  const ports = Array.isArray(slice.ports) ? slice.ports.filter(isObject) : [];
  const names: string[] = [];
  ports.forEach((port, i) => {
    const field = `ports[${i}]`;
    const name = typeof port.name === 'string' ? port.name : '';
    if (name) errors.push(...isDNS1123Label(name).map(invalidAt(`${field}.name`, name)));
    if (names.includes(name))
      errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: name, detail: '' });
    else names.push(name);
    if (port.protocol === undefined) errors.push(required(`${field}.protocol`));
    else if (!PORT_PROTOCOLS.includes(port.protocol as string))
      errors.push(notSupported(`${field}.protocol`, port.protocol, PORT_PROTOCOLS));
    if (typeof port.appProtocol === 'string')
      errors.push(...isLabelKey(port.appProtocol).map(invalidAt(`${field}.appProtocol`, port.appProtocol)));
  });
  const endpointErrors: FieldError[] = [];
  const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints : [];
  endpoints.forEach((raw, i) => {
    const endpoint = isObject(raw) ? raw : {};
    const field = `endpoints[${i}]`;
    const addressPath = `${field}.addresses`;
    const addresses = Array.isArray(endpoint.addresses) ? endpoint.addresses.map(String) : [];
    if (addresses.length === 0) endpointErrors.push(required(addressPath, 'must contain at least 1 address'));
    else if (addresses.length > 100) {
      endpointErrors.push({
        type: 'FieldValueTooMany',
        field: addressPath,
        value: addresses.length,
        detail: 'must have at most 100 items',
      });
    }
    addresses.forEach((address, j) => {
      const at = `${addressPath}[${j}]`;
      if (type === 'IPv4' || type === 'IPv6') {
        if (!isIP(address)) {
          endpointErrors.push(invalidAt(at, address)(IP_EXAMPLE));
          return;
        }
        if (type === 'IPv4' && !isIPv4(address))
          endpointErrors.push(invalidAt(addressPath, address)('must be an IPv4 address'));
        if (type === 'IPv6' && !isIPv6(address))
          endpointErrors.push(invalidAt(addressPath, address)('must be an IPv6 address'));
        endpointErrors.push(...endpointIPErrors(address, at));
      } else if (type === 'FQDN') {
        endpointErrors.push(...fqdnErrors(address, at));
      }
    });
    if (typeof endpoint.nodeName === 'string') {
      endpointErrors.push(
        ...isDNS1123Subdomain(endpoint.nodeName).map(invalidAt(`${field}.nodeName`, endpoint.nodeName)),
      );
    }
    if (typeof endpoint.hostname === 'string') {
      endpointErrors.push(
        ...isDNS1123Label(endpoint.hostname).map(invalidAt(`${field}.hostname`, endpoint.hostname)),
      );
    }
  });
  // Endpoints an update leaves as they were are not judged again.
  if (!(old && jsonEqual(old.endpoints, slice.endpoints))) errors.push(...endpointErrors);
  if (old && old.addressType !== type) errors.push(invalidAt('addressType', type)('field is immutable'));
  return errors;
}

/** The warnings of the EndpointSlice strategy: FQDN slices are deprecated. */
export function endpointSliceWarnings(slice: JsonObject): string[] {
  return slice.addressType === 'FQDN' ? ['spec.addressType: FQDN endpoints are deprecated'] : [];
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
