/**
 * Validation of load balancer status, which the real server applies to writes of Service and
 * Ingress `/status` (ValidateLoadBalancerStatus, ValidateIngressLoadBalancerStatus), with its
 * messages: every `status.loadBalancer.ingress[]` entry has a valid IP in `ip` or a DNS name (not
 * an IP) in `hostname`; a Service's entries need an `ipMode` (VIP or Proxy) exactly when they
 * have an `ip`, and only a LoadBalancer Service has any. IPs the old status already had pass.
 */
import { isIP } from 'node:net';
import { invalid, notSupported, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';
import { isDNS1123Subdomain } from './validation.js';

const IP_EXAMPLE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

function ingressOf(object: JsonObject | undefined): unknown[] {
  const status = object && isObject(object.status) ? object.status : {};
  const loadBalancer = isObject(status.loadBalancer) ? status.loadBalancer : {};
  return Array.isArray(loadBalancer.ingress) ? loadBalancer.ingress : [];
}

export function validateLoadBalancerStatus(
  resource: ResourceInfo,
  object: JsonObject,
  old?: JsonObject,
): void {
  const isService = resource.kind === 'Service';
  const ingress = ingressOf(object);
  const errors: FieldError[] = [];
  const spec = isObject(object.spec) ? object.spec : {};
  if (isService && spec.type !== 'LoadBalancer' && ingress.length > 0) {
    errors.push({
      type: 'FieldValueForbidden',
      field: 'status.loadBalancer.ingress',
      detail: "may only be used when `spec.type` is 'LoadBalancer'",
    });
  } else {
    const existing = ingressOf(old)
      .map((e) => (isObject(e) ? e.ip : undefined))
      .filter((ip) => typeof ip === 'string' && ip !== '');
    ingress.forEach((entry, i) => {
      const field = `status.loadBalancer.ingress[${i}]`;
      const e = isObject(entry) ? entry : {};
      const ip = typeof e.ip === 'string' ? e.ip : '';
      if (ip && !existing.includes(ip) && !isIP(ip)) {
        errors.push({ type: 'FieldValueInvalid', field: `${field}.ip`, value: ip, detail: IP_EXAMPLE });
      }
      if (isService) {
        if (e.ipMode === undefined || e.ipMode === null) {
          if (ip)
            errors.push({
              type: 'FieldValueRequired',
              field: `${field}.ipMode`,
              detail: 'must be specified when `ip` is set',
            });
        } else if (!ip) {
          errors.push({
            type: 'FieldValueForbidden',
            field: `${field}.ipMode`,
            detail: 'may not be specified when `ip` is not set',
          });
        } else if (e.ipMode !== 'VIP' && e.ipMode !== 'Proxy') {
          errors.push(notSupported(`${field}.ipMode`, e.ipMode, ['Proxy', 'VIP']));
        }
      }
      const hostname = typeof e.hostname === 'string' ? e.hostname : '';
      if (hostname) {
        for (const detail of isDNS1123Subdomain(hostname)) {
          errors.push({ type: 'FieldValueInvalid', field: `${field}.hostname`, value: hostname, detail });
        }
        if (isIP(hostname)) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `${field}.hostname`,
            value: hostname,
            detail: 'must be a DNS name, not an IP address',
          });
        }
      }
    });
  }
  if (errors.length) throw invalid(resource, String((object.metadata as JsonObject).name), errors);
}
