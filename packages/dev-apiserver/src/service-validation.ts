/**
 * Service validation ported from the real server (k8s.io/kubernetes/pkg/apis/core/validation:
 * validateService, ValidateServiceClusterIPsRelatedFields, the update checks), with its field
 * paths, messages and order. Metadata is checked by the registry (object-meta.ts).
 */
import { isIP, isIPv6 } from 'node:net';
import { notSupported, type FieldError } from './errors.js';
import { isValidPortName } from './ingress-validation.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { isDNS1123Label, isDNS1123Subdomain, isLabelKey, isLabelValue } from './validation.js';
import { endpointIPErrors } from './endpoints-validation.js';

const IP_EXAMPLE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

type Port = JsonObject;
const invalidAt =
  (field: string, value: unknown) =>
  (detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });
const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});

export function specOf(service: JsonObject | undefined): JsonObject {
  return service && isObject(service.spec) ? service.spec : {};
}
export function portsOf(spec: JsonObject): Port[] {
  return Array.isArray(spec.ports) ? spec.ports.filter(isObject) : [];
}
export function clusterIPsOf(spec: JsonObject): string[] {
  return Array.isArray(spec.clusterIPs) ? spec.clusterIPs.map(String) : [];
}
export function familiesOf(spec: JsonObject): string[] {
  return Array.isArray(spec.ipFamilies) ? spec.ipFamilies.map(String) : [];
}
export function isHeadless(spec: JsonObject): boolean {
  const ips = clusterIPsOf(spec);
  return ips.length === 1 && ips[0] === 'None';
}
export function externallyAccessible(spec: JsonObject): boolean {
  return (
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0)
  );
}
export function needsHealthCheck(spec: JsonObject): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

function portNumberErrors(value: unknown, field: string): FieldError[] {
  return typeof value === 'number' && value >= 1 && value <= 65535
    ? []
    : [invalidAt(field, value ?? 0)('must be between 1 and 65535, inclusive')];
}

function servicePortErrors(
  port: Port,
  requireName: boolean,
  names: Set<string>,
  field: string,
): FieldError[] {
  const errors: FieldError[] = [];
  const name = typeof port.name === 'string' ? port.name : '';
  if (requireName && name === '') errors.push(required(`${field}.name`));
  else if (name !== '') {
    errors.push(...isDNS1123Label(name).map(invalidAt(`${field}.name`, name)));
    if (names.has(name))
      errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: name, detail: '' });
    else names.add(name);
  }
  errors.push(...portNumberErrors(port.port ?? 0, `${field}.port`));
  if (port.protocol === undefined || port.protocol === '') errors.push(required(`${field}.protocol`));
  else if (!PROTOCOLS.includes(port.protocol as string))
    errors.push(notSupported(`${field}.protocol`, port.protocol, PROTOCOLS));
  const target = port.targetPort;
  if (typeof target === 'string') {
    errors.push(...isValidPortName(target).map(invalidAt(`${field}.targetPort`, target)));
  } else {
    errors.push(...portNumberErrors(target ?? 0, `${field}.targetPort`));
  }
  if (typeof port.appProtocol === 'string') {
    errors.push(...isLabelKey(port.appProtocol).map(invalidAt(`${field}.appProtocol`, port.appProtocol)));
  }
  return errors;
}

/** ValidateServiceClusterIPsRelatedFields. */
export function clusterIPsRelatedErrors(spec: JsonObject, old?: JsonObject): FieldError[] {
  if (spec.type === 'ExternalName') return [];
  const errors: FieldError[] = [];
  const ips = clusterIPsOf(spec);
  const clusterIP = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (clusterIP !== '') {
    if (ips.length === 0) errors.push(required('spec.clusterIPs'));
    else if (ips[0] !== clusterIP)
      errors.push(invalidAt('spec.clusterIPs', ips)('first value must match `clusterIP`'));
  } else if (ips.length !== 0) {
    errors.push(invalidAt('spec.clusterIPs', ips)('must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  familiesOf(spec).forEach((family, i) => {
    if (family !== 'IPv4' && family !== 'IPv6')
      errors.push(notSupported(`spec.ipFamilies[${i}]`, family, ['IPv4', 'IPv6']));
    if (seen.has(family))
      errors.push({ type: 'FieldValueDuplicate', field: `spec.ipFamilies[${i}]`, value: family, detail: '' });
    seen.add(family);
  });
  if (
    spec.ipFamilyPolicy !== undefined &&
    !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(spec.ipFamilyPolicy as string)
  ) {
    errors.push(
      notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, [
        'PreferDualStack',
        'RequireDualStack',
        'SingleStack',
      ]),
    );
  }
  const existing = clusterIPsOf(specOf(old));
  let invalidIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        invalidIPs = true;
        errors.push(invalidAt('spec.clusterIPs', ips)("'None' must be the first and only value"));
      }
      return;
    }
    if (!existing.includes(ip) && !isIP(ip)) {
      invalidIPs = true;
      errors.push(invalidAt(`spec.clusterIPs[${i}]`, ip)(IP_EXAMPLE));
    }
  });
  if (ips.length > 2) errors.push(invalidAt('spec.clusterIPs', ips)('may only hold up to 2 values'));
  if (invalidIPs) return errors;
  if (ips.length > 1 && isIPv6(ips[0]!) === isIPv6(ips[1]!)) {
    errors.push(invalidAt('spec.clusterIPs', ips)('may specify no more than one IP for each IP family'));
  }
  const families = familiesOf(spec);
  if (!isHeadless(spec) && ips.length > 0 && families.length > 0) {
    ips.forEach((ip, i) => {
      if (i > families.length - 1) return;
      if (families[i] === 'IPv4' && isIPv6(ip)) {
        errors.push(
          invalidAt(
            `spec.clusterIPs[${i}]`,
            ip,
          )(`expected an IPv4 value as indicated by \`ipFamilies[${i}]\``),
        );
      }
      if (families[i] === 'IPv6' && !isIPv6(ip)) {
        errors.push(
          invalidAt(
            `spec.clusterIPs[${i}]`,
            ip,
          )(`expected an IPv6 value as indicated by \`ipFamilies[${i}]\``),
        );
      }
    });
  }
  return errors;
}

function loadBalancerClassErrors(spec: JsonObject, old?: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const oldSpec = old ? specOf(old) : undefined;
  if (
    oldSpec &&
    oldSpec.type === 'LoadBalancer' &&
    spec.type === 'LoadBalancer' &&
    !jsonEqual(oldSpec.loadBalancerClass, spec.loadBalancerClass)
  ) {
    errors.push(
      invalidAt('spec.loadBalancerClass', spec.loadBalancerClass ?? null)('may not change once set'),
    );
  }
  if (spec.type === 'LoadBalancer') {
    if (typeof spec.loadBalancerClass === 'string') {
      errors.push(
        ...isLabelKey(spec.loadBalancerClass).map(
          invalidAt('spec.loadBalancerClass', spec.loadBalancerClass),
        ),
      );
    }
  } else if (spec.loadBalancerClass !== undefined) {
    errors.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }
  return errors;
}

/** validateService: everything but the metadata, for a create (OLD undefined) or an update. */
function validateService(service: JsonObject, old?: JsonObject): FieldError[] {
  const spec = specOf(service);
  const errors: FieldError[] = [];
  const ports = portsOf(spec);
  const headless = isHeadless(spec);
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') errors.push(required('spec.ports'));
  if ((spec.type === 'LoadBalancer' || spec.type === 'NodePort') && headless) {
    errors.push(
      invalidAt('spec.clusterIPs[0]', 'None')(`may not be set to 'None' for ${String(spec.type)} services`),
    );
  } else if (spec.type === 'ExternalName') {
    if (clusterIPsOf(spec).length > 0)
      errors.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (familiesOf(spec).length > 0)
      errors.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy !== undefined)
      errors.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = String(spec.externalName ?? '').replace(/\.$/, '');
    if (cname) errors.push(...isDNS1123Subdomain(cname).map(invalidAt('spec.externalName', cname)));
    else errors.push(required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errors.push(...servicePortErrors(p, ports.length > 1, names, `spec.ports[${i}]`)));
  if (isObject(spec.selector)) {
    for (const [k, v] of Object.entries(spec.selector)) {
      errors.push(...isLabelKey(k).map(invalidAt('spec.selector', k)));
      errors.push(...isLabelValue(String(v)).map(invalidAt('spec.selector', v)));
    }
  }
  const affinity = spec.sessionAffinity;
  if (affinity === undefined || affinity === '') errors.push(required('spec.sessionAffinity'));
  else if (affinity !== 'ClientIP' && affinity !== 'None') {
    errors.push(notSupported('spec.sessionAffinity', affinity, ['ClientIP', 'None']));
  }
  if (affinity === 'None' && spec.sessionAffinityConfig !== undefined) {
    errors.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  errors.push(...clusterIPsRelatedErrors(spec, old));
  const existingExternal = Array.isArray(specOf(old).externalIPs)
    ? (specOf(old).externalIPs as string[])
    : [];
  (Array.isArray(spec.externalIPs) ? spec.externalIPs.map(String) : []).forEach((ip, i) => {
    if (existingExternal.includes(ip)) return;
    if (!isIP(ip)) errors.push(invalidAt(`spec.externalIPs[${i}]`, ip)(IP_EXAMPLE));
    else errors.push(...endpointIPErrors(ip, `spec.externalIPs[${i}]`));
  });
  if (spec.type === undefined || spec.type === '') errors.push(required('spec.type'));
  else if (!TYPES.includes(spec.type as string)) errors.push(notSupported('spec.type', spec.type, TYPES));
  if (spec.type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p.nodePort)
        errors.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p.nodePort) return;
    const key = `${String(p.protocol)}/${String(p.nodePort)}`;
    if (nodePorts.has(key))
      errors.push({
        type: 'FieldValueDuplicate',
        field: `spec.ports[${i}].nodePort`,
        value: p.nodePort,
        detail: '',
      });
    nodePorts.add(key);
  });
  const servicePorts = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${String(p.protocol)}/${String(p.port)}`;
    if (servicePorts.has(key)) {
      errors.push({
        type: 'FieldValueDuplicate',
        field: `spec.ports[${i}]`,
        value: { Protocol: p.protocol, Port: p.port },
        detail: '',
      });
    }
    servicePorts.add(key);
  });
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.type !== 'LoadBalancer') {
    errors.push(
      forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"),
    );
  }
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) {
    errors.push(required('allocateLoadBalancerNodePorts'));
  }
  errors.push(...loadBalancerClassErrors(spec));
  // validateServiceExternalTrafficPolicy
  const etp = spec.externalTrafficPolicy;
  if (!externallyAccessible(spec)) {
    if (etp !== undefined && etp !== '') {
      errors.push(
        invalidAt('spec.externalTrafficPolicy', etp)('may only be set for externally-accessible services'),
      );
    }
  } else if (etp === undefined || etp === '') {
    errors.push(required('spec.externalTrafficPolicy'));
  } else if (etp !== 'Cluster' && etp !== 'Local') {
    errors.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  }
  const health = typeof spec.healthCheckNodePort === 'number' ? spec.healthCheckNodePort : 0;
  if (!needsHealthCheck(spec)) {
    if (health !== 0) {
      errors.push(
        invalidAt(
          'spec.healthCheckNodePort',
          health,
        )("may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"),
      );
    }
  } else if (health === 0) {
    errors.push(required('spec.healthCheckNodePort'));
  } else {
    errors.push(...portNumberErrors(health, 'spec.healthCheckNodePort'));
  }
  // validateServiceInternalTrafficFieldsValue
  const itp = spec.internalTrafficPolicy;
  if (itp === undefined && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type as string)) {
    errors.push(required('spec.internalTrafficPolicy'));
  }
  if (itp !== undefined && itp !== 'Cluster' && itp !== 'Local') {
    errors.push(notSupported('spec.internalTrafficPolicy', itp, ['Cluster', 'Local']));
  }
  if (spec.trafficDistribution !== undefined) {
    const supported = ['PreferClose', 'PreferSameZone', 'PreferSameNode'];
    if (!supported.includes(spec.trafficDistribution as string)) {
      errors.push(notSupported('spec.trafficDistribution', spec.trafficDistribution, supported));
    }
  }
  return errors;
}

export function validateServiceCreate(service: JsonObject): FieldError[] {
  return validateService(service);
}

/** ValidateServiceUpdate (without the metadata): what may not change, then validateService. */
export function validateServiceUpdate(service: JsonObject, old: JsonObject): FieldError[] {
  const spec = specOf(service);
  const oldSpec = specOf(old);
  const errors: FieldError[] = [];
  if (
    spec.type !== 'ExternalName' &&
    oldSpec.type !== 'ExternalName' &&
    !(isHeadless(spec) && isHeadless(oldSpec))
  ) {
    const ips = clusterIPsOf(spec);
    const oldIPs = clusterIPsOf(oldSpec);
    const changed = () => invalidAt('spec.clusterIPs[0]', ips)('may not change once set');
    if (oldIPs.length === ips.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== ips[i]) errors.push(invalidAt(`spec.clusterIPs[${i}]`, ips)('may not change once set'));
      });
    } else if (oldIPs.length > ips.length) {
      if (ips.length === 0)
        errors.push(invalidAt('spec.clusterIPs[0]', ips)('primary clusterIP can not be unset'));
      if (oldIPs.length > 0 && ips.length > 0 && ips[0] !== oldIPs[0]) errors.push(changed());
      if (ips.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        errors.push(
          invalidAt(
            'spec.ipFamilyPolicy',
            spec.ipFamilyPolicy ?? null,
          )("must be set to 'SingleStack' when releasing the secondary clusterIP"),
        );
      }
    } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
      errors.push(changed());
    }
  }
  if (
    spec.type !== 'ExternalName' &&
    oldSpec.type !== 'ExternalName' &&
    isHeadless(spec) === isHeadless(oldSpec) &&
    !isHeadless(spec)
  ) {
    const families = familiesOf(spec);
    const oldFamilies = familiesOf(oldSpec);
    if (oldFamilies.length === families.length) {
      oldFamilies.forEach((f, i) => {
        if (f !== families[i])
          errors.push(invalidAt('spec.ipFamilies[0]', families)('may not change once set'));
      });
    } else if (oldFamilies.length > families.length) {
      if (clusterIPsOf(spec).length === 0)
        errors.push(invalidAt('spec.ipFamilies[0]', families)('primary ipFamily can not be unset'));
      if (families.length > 0 && families[0] !== oldFamilies[0]) {
        errors.push(invalidAt('spec.ipFamilies[0]', clusterIPsOf(spec))('may not change once set'));
      }
      if (families.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        errors.push(
          invalidAt(
            'spec.ipFamilyPolicy',
            spec.ipFamilyPolicy ?? null,
          )("must be set to 'SingleStack' when releasing the secondary ipFamily"),
        );
      }
    } else if (oldFamilies.length > 0 && families.length > 0 && families[0] !== oldFamilies[0]) {
      errors.push(invalidAt('spec.ipFamilies[0]', clusterIPsOf(spec))('may not change once set'));
    }
  }
  // Checked here and again in validateService, as the real server does (the message lists each once).
  errors.push(...loadBalancerClassErrors(spec, old));
  if (
    needsHealthCheck(oldSpec) &&
    needsHealthCheck(spec) &&
    spec.healthCheckNodePort !== oldSpec.healthCheckNodePort
  ) {
    errors.push(forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  return [...errors, ...validateService(service, old)];
}
