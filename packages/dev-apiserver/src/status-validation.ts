/**
 * Validation of load balancer status, which the real server applies to writes of Service and
 * Ingress `/status`: every `status.loadBalancer.ingress[]` entry has a valid IP in `ip` (not a
 * name) or a DNS name in `hostname` (not an IP), and `ipMode` (VIP or Proxy) only together with
 * an `ip`. A controller that writes a malformed address is told so, as it would be in a cluster.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalid, notSupported, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validateLoadBalancerStatus(resource: ResourceInfo, object: JsonObject): void {
  const status = isObject(object.status) ? object.status : {};
  const loadBalancer = isObject(status.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(loadBalancer.ingress) ? loadBalancer.ingress : [];
  const errors: FieldError[] = [];
  ingress.forEach((entry, i) => {
    const field = `status.loadBalancer.ingress[${i}]`;
    const e = isObject(entry) ? entry : {};
    if (e.ip !== undefined && e.ip !== '') {
      if (typeof e.ip !== 'string' || !(isIPv4(e.ip) || isIPv6(e.ip))) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.ip`,
          value: e.ip,
          detail: 'must be a valid IP address',
        });
      }
    }
    if (e.hostname !== undefined && e.hostname !== '') {
      if (typeof e.hostname !== 'string' || isIPv4(e.hostname) || isIPv6(e.hostname)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.hostname`,
          value: e.hostname,
          detail: 'must be a DNS name, not an IP address',
        });
      } else if (!DNS_SUBDOMAIN.test(e.hostname)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.hostname`,
          value: e.hostname,
          detail: 'must be a lowercase RFC 1123 subdomain',
        });
      }
    }
    if (e.ipMode !== undefined) {
      if (e.ipMode !== 'VIP' && e.ipMode !== 'Proxy') {
        errors.push(notSupported(`${field}.ipMode`, e.ipMode, ['Proxy', 'VIP']));
      } else if (e.ip === undefined || e.ip === '') {
        errors.push({
          type: 'FieldValueRequired',
          field: `${field}.ipMode`,
          detail: 'must be specified when `ip` is set',
        });
      }
    }
  });
  if (errors.length) throw invalid(resource, String((object.metadata as JsonObject).name), errors);
}
