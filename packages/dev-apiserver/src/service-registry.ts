/**
 * What the real kube-apiserver does to a Service on create and update beyond storing it:
 * defaulting (type, protocol, targetPort, sessionAffinity, traffic policies, IP families),
 * cluster IP allocation per family, node port and health check node port allocation, the
 * carry-over of allocated values when an update leaves them empty, immutability of cluster IPs,
 * and validation answered with 422 Invalid naming the field. Allocations are transactional: a
 * rejected request leaves every allocator as it was.
 */
import { invalid, notSupported, type FieldError } from './errors.js';
import { familyOf, IpAllocator, type IPFamily } from './ip-allocator.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { PortAllocator } from './port-allocator.js';
import type { ResourceInfo } from './resources.js';

export interface ServiceNetworkOptions {
  /** Service CIDRs; the first one's family is the primary family. Two CIDRs make the cluster dual-stack. */
  serviceCidrs?: string[];
  nodePortRange?: [number, number];
}

const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Port = JsonObject & { port?: unknown; nodePort?: unknown; name?: unknown; protocol?: unknown };

/** Claims made while processing one request: committed when it succeeds, undone when it fails. */
class Transaction {
  private readonly undo: (() => void)[] = [];
  private readonly releases: (() => void)[] = [];
  claimed(undo: () => void): void {
    this.undo.push(undo);
  }
  releaseOnCommit(release: () => void): void {
    this.releases.push(release);
  }
  commit(): void {
    for (const r of this.releases) r();
  }
  rollback(): void {
    for (const u of this.undo.reverse()) u();
  }
}

function needsClusterIP(spec: JsonObject): boolean {
  return spec.type !== 'ExternalName';
}

function isHeadless(spec: JsonObject): boolean {
  return spec.clusterIP === 'None' || (Array.isArray(spec.clusterIPs) && spec.clusterIPs[0] === 'None');
}

function needsNodePorts(spec: JsonObject): boolean {
  return (
    spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)
  );
}

function needsHealthCheckNodePort(spec: JsonObject): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

function ports(spec: JsonObject): Port[] {
  return Array.isArray(spec.ports) ? (spec.ports.filter(isObject) as Port[]) : [];
}

function nodePortsOf(spec: JsonObject): number[] {
  return ports(spec)
    .map((p) => p.nodePort)
    .filter((n): n is number => typeof n === 'number' && n !== 0);
}

function clusterIPsOf(spec: JsonObject): string[] {
  if (!Array.isArray(spec.clusterIPs)) return [];
  return spec.clusterIPs.filter((ip): ip is string => typeof ip === 'string' && ip !== 'None' && ip !== '');
}

function externallyAccessible(spec: JsonObject): boolean {
  return (
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0)
  );
}

/**
 * A type change wipes the fields the old type had allocated or defaulted, when the user left them
 * as they were (the real server's dropTypeDependentFields): cluster IPs and families for
 * ExternalName, node ports, the health check node port, allocateLoadBalancerNodePorts,
 * loadBalancerClass, externalTrafficPolicy; and a Service that is no longer a LoadBalancer loses
 * its load balancer status.
 */
function dropTypeDependentFields(service: JsonObject, spec: JsonObject, old: JsonObject): void {
  if (needsClusterIP(old) && !needsClusterIP(spec)) {
    if (jsonEqual(spec.clusterIPs, old.clusterIPs) || spec.clusterIP === old.clusterIP) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (jsonEqual(spec.ipFamilies, old.ipFamilies)) delete spec.ipFamilies;
    if (spec.ipFamilyPolicy === old.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(spec) && jsonEqual(nodePortsOf(spec), nodePortsOf(old))) {
    for (const p of ports(spec)) delete p.nodePort;
  }
  if (
    needsHealthCheckNodePort(old) &&
    !needsHealthCheckNodePort(spec) &&
    spec.healthCheckNodePort === old.healthCheckNodePort
  ) {
    delete spec.healthCheckNodePort;
  }
  if (old.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts)
      delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === old.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (
    externallyAccessible(old) &&
    !externallyAccessible(spec) &&
    spec.externalTrafficPolicy === old.externalTrafficPolicy
  ) {
    delete spec.externalTrafficPolicy;
  }
  if (spec.type !== 'LoadBalancer' && isObject(service.status)) {
    service.status = { ...service.status, loadBalancer: {} };
  }
}

export class ServiceRegistry {
  private readonly allocators = new Map<IPFamily, IpAllocator>();
  private readonly primary: IPFamily;
  readonly nodePorts: PortAllocator;

  constructor(
    private readonly resource: ResourceInfo,
    options: ServiceNetworkOptions = {},
  ) {
    const cidrs = options.serviceCidrs ?? ['10.96.0.0/16', 'fd00:10:96::/112'];
    if (cidrs.length < 1 || cidrs.length > 2) throw new Error('one or two service CIDRs');
    for (const cidr of cidrs) {
      const allocator = new IpAllocator(cidr);
      if (this.allocators.has(allocator.family))
        throw new Error('dual-stack service CIDRs must be of different families');
      this.allocators.set(allocator.family, allocator);
    }
    this.primary = new IpAllocator(cidrs[0]!).family;
    const [first, last] = options.nodePortRange ?? [30000, 32767];
    this.nodePorts = new PortAllocator(first, last);
  }

  get dualStack(): boolean {
    return this.allocators.size === 2;
  }

  allocator(family: IPFamily): IpAllocator | undefined {
    return this.allocators.get(family);
  }

  /** The `kubernetes` Service's address: the first one of the primary range, as the real server. */
  reserveFirstAddress(): string {
    return this.allocators.get(this.primary)!.allocateNext()!;
  }

  private fail(name: string, errors: FieldError[], tx: Transaction): never {
    tx.rollback();
    throw invalid(this.resource, name, errors);
  }

  /** Defaults, validates and allocates for a new Service (mutates `service`). */
  prepareCreate(service: JsonObject): void {
    const spec = isObject(service.spec) ? service.spec : (service.spec = {});
    this.validateAndAllocate(service, spec, undefined);
  }

  /** Same for an update; `old` is the stored Service. */
  prepareUpdate(service: JsonObject, old: JsonObject): void {
    const spec = isObject(service.spec) ? service.spec : (service.spec = {});
    const oldSpec = isObject(old.spec) ? old.spec : {};
    // A replacement without a type is a ClusterIP Service, whatever the old one was.
    spec.type ??= 'ClusterIP';
    this.carryOverAllocated(spec, oldSpec);
    dropTypeDependentFields(service, spec, oldSpec);
    this.validateAndAllocate(service, spec, oldSpec);
  }

  /** Defaults and validates SPEC, then allocates its addresses and ports, all or nothing. */
  private validateAndAllocate(service: JsonObject, spec: JsonObject, oldSpec: JsonObject | undefined): void {
    const tx = new Transaction();
    const name = String((service.metadata as JsonObject | undefined)?.name ?? '');
    const errors = this.defaultAndValidate(spec, oldSpec);
    if (errors.length) this.fail(name, errors, tx);
    this.allocateAddresses(spec, oldSpec, tx, errors);
    this.allocatePorts(spec, oldSpec, tx, errors);
    if (errors.length) this.fail(name, errors, tx);
    tx.commit();
  }

  /** Gives back everything a deleted Service held. */
  release(service: JsonObject): void {
    const spec = isObject(service.spec) ? service.spec : {};
    for (const ip of clusterIPsOf(spec)) this.allocators.get(familyOf(ip)!)?.release(ip);
    for (const port of nodePortsOf(spec)) this.nodePorts.release(port);
    if (typeof spec.healthCheckNodePort === 'number') this.nodePorts.release(spec.healthCheckNodePort);
  }

  /**
   * An update that leaves allocated fields empty keeps the old values (so `kubectl replace` of a
   * manifest without clusterIP works): cluster IPs (families and policy are then inferred from
   * them, as on create), node ports by port name, health check node port.
   */
  private carryOverAllocated(spec: JsonObject, old: JsonObject): void {
    if (needsClusterIP(old) && needsClusterIP(spec)) {
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        if (old.clusterIP !== undefined) spec.clusterIP = old.clusterIP;
      }
      if (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) {
        if (Array.isArray(old.clusterIPs) && spec.clusterIP === old.clusterIP)
          spec.clusterIPs = [...old.clusterIPs];
      }
      // A downgrade to SingleStack keeps the primary family and address and drops the secondary ones.
      if (spec.ipFamilyPolicy === 'SingleStack' && clusterIPsOf(old).length === 2) {
        if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length === 2)
          spec.clusterIPs = spec.clusterIPs.slice(0, 1);
        if (Array.isArray(spec.ipFamilies) && spec.ipFamilies.length === 2)
          spec.ipFamilies = spec.ipFamilies.slice(0, 1);
      }
    }
    if (needsNodePorts(old) && needsNodePorts(spec)) {
      const byName = new Map(ports(old).map((p) => [p.name ?? '', p.nodePort]));
      const used = new Set(nodePortsOf(spec));
      for (const p of ports(spec)) {
        if (p.nodePort === undefined || p.nodePort === 0) {
          const previous = byName.get(p.name ?? '');
          if (typeof previous === 'number' && !used.has(previous)) p.nodePort = previous;
        }
      }
    }
    if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(spec) && !spec.healthCheckNodePort) {
      spec.healthCheckNodePort = old.healthCheckNodePort;
    }
  }

  private defaultAndValidate(spec: JsonObject, old: JsonObject | undefined): FieldError[] {
    const errors: FieldError[] = [];
    spec.type ??= 'ClusterIP';
    if (!TYPES.includes(spec.type as string)) {
      errors.push(notSupported('spec.type', spec.type, TYPES));
      return errors;
    }
    spec.sessionAffinity ??= 'None';
    if (spec.sessionAffinity !== 'None' && spec.sessionAffinity !== 'ClientIP') {
      errors.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
    }
    const list = ports(spec);
    if (Array.isArray(spec.ports) && list.length !== spec.ports.length) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.ports',
        value: spec.ports,
        detail: 'must be a list of objects',
      });
    }
    const names = new Set<string>();
    list.forEach((p, i) => {
      const field = `spec.ports[${i}]`;
      p.protocol ??= 'TCP';
      if (!PROTOCOLS.includes(p.protocol as string)) {
        errors.push(notSupported(`${field}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
      }
      if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `${field}.port`,
          value: p.port,
          detail: 'must be between 1 and 65535, inclusive',
        });
      }
      if (spec.type !== 'ExternalName') p.targetPort ??= p.port;
      const portName = p.name ?? '';
      if (list.length > 1 && portName === '')
        errors.push({ type: 'FieldValueRequired', field: `${field}.name`, detail: '' });
      if (portName !== '') {
        if (typeof portName !== 'string' || !DNS_LABEL.test(portName) || portName.length > 15) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `${field}.name`,
            value: portName,
            detail: 'must be a DNS label of at most 15 characters',
          });
        } else if (names.has(portName)) {
          errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, value: portName, detail: '' });
        }
        names.add(portName as string);
      }
      if (
        p.nodePort !== undefined &&
        p.nodePort !== 0 &&
        spec.type !== 'NodePort' &&
        spec.type !== 'LoadBalancer'
      ) {
        errors.push({
          type: 'FieldValueForbidden',
          field: `${field}.nodePort`,
          detail: `may not be used when \`type\` is '${spec.type}'`,
        });
      }
    });
    if (spec.type === 'ExternalName') {
      if (typeof spec.externalName !== 'string' || spec.externalName === '') {
        errors.push({ type: 'FieldValueRequired', field: 'spec.externalName', detail: '' });
      }
      for (const f of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'] as const) {
        const v = spec[f];
        if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0) && !old) {
          errors.push({
            type: 'FieldValueForbidden',
            field: `spec.${f}`,
            detail: 'may not be set for ExternalName services',
          });
        }
        // An update to ExternalName drops what the ClusterIP Service had.
        delete spec[f];
      }
      delete spec.internalTrafficPolicy;
      return errors;
    }
    if (list.length === 0 && !isHeadless(spec))
      errors.push({ type: 'FieldValueRequired', field: 'spec.ports', detail: '' });
    spec.internalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      spec.externalTrafficPolicy ??= 'Cluster';
    } else if (
      spec.externalTrafficPolicy !== undefined &&
      spec.externalTrafficPolicy !== '' &&
      !Array.isArray(spec.externalIPs)
    ) {
      errors.push({
        type: 'FieldValueForbidden',
        field: 'spec.externalTrafficPolicy',
        detail: "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
      });
    }
    for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy'] as const) {
      if (spec[f] !== undefined && spec[f] !== 'Cluster' && spec[f] !== 'Local') {
        errors.push(notSupported(`spec.${f}`, spec[f], ['Cluster', 'Local']));
      }
    }
    if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
    else if (spec.allocateLoadBalancerNodePorts !== undefined) {
      errors.push({
        type: 'FieldValueForbidden',
        field: 'spec.allocateLoadBalancerNodePorts',
        detail: "may only be used when `type` is 'LoadBalancer'",
      });
    }
    if (spec.loadBalancerClass !== undefined && spec.type !== 'LoadBalancer') {
      errors.push({
        type: 'FieldValueForbidden',
        field: 'spec.loadBalancerClass',
        detail: "may only be used when `type` is 'LoadBalancer'",
      });
    }
    if (
      old &&
      old.type === 'LoadBalancer' &&
      spec.type === 'LoadBalancer' &&
      old.loadBalancerClass !== spec.loadBalancerClass
    ) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.loadBalancerClass',
        value: spec.loadBalancerClass ?? null,
        detail: 'may not change once set',
      });
    }
    if (
      spec.healthCheckNodePort !== undefined &&
      spec.healthCheckNodePort !== 0 &&
      !needsHealthCheckNodePort(spec)
    ) {
      if (old && needsHealthCheckNodePort(old) && spec.healthCheckNodePort === old.healthCheckNodePort)
        delete spec.healthCheckNodePort;
      else
        errors.push({
          type: 'FieldValueForbidden',
          field: 'spec.healthCheckNodePort',
          detail: "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        });
    }
    this.defaultFamilies(spec, old, errors);
    return errors;
  }

  /** ipFamilyPolicy / ipFamilies / clusterIP(s) defaulting, as the real server's initIPFamilyFields. */
  private defaultFamilies(spec: JsonObject, old: JsonObject | undefined, errors: FieldError[]): void {
    if (
      typeof spec.clusterIP === 'string' &&
      spec.clusterIP !== '' &&
      (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0)
    ) {
      spec.clusterIPs = [spec.clusterIP];
    }
    if (
      (spec.clusterIP === undefined || spec.clusterIP === '') &&
      Array.isArray(spec.clusterIPs) &&
      typeof spec.clusterIPs[0] === 'string'
    ) {
      spec.clusterIP = spec.clusterIPs[0];
    }
    if (
      Array.isArray(spec.clusterIPs) &&
      spec.clusterIPs.length > 0 &&
      spec.clusterIPs[0] !== spec.clusterIP
    ) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        value: spec.clusterIPs,
        detail: 'first value must match `clusterIP`',
      });
      return;
    }
    const headless = isHeadless(spec);
    const requested = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as unknown[]) : [];
    const families = Array.isArray(spec.ipFamilies) ? (spec.ipFamilies as unknown[]) : [];
    if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
      if (families.length === 2 || (!headless && requested.length === 2))
        spec.ipFamilyPolicy = 'RequireDualStack';
      else if (headless && !isObject(spec.selector)) spec.ipFamilyPolicy = 'RequireDualStack';
      else spec.ipFamilyPolicy = 'SingleStack';
    }
    if (!POLICIES.includes(spec.ipFamilyPolicy as string)) {
      errors.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, POLICIES));
      return;
    }
    if (spec.ipFamilyPolicy === 'RequireDualStack' && !this.dualStack) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.ipFamilyPolicy',
        value: spec.ipFamilyPolicy,
        detail: 'this cluster is not configured for dual-stack services',
      });
      return;
    }
    if (requested.length > 2) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.clusterIPs',
        value: requested,
        detail: 'may only hold up to 2 values',
      });
      return;
    }
    if (!headless) {
      requested.forEach((ip, i) => {
        const family = typeof ip === 'string' ? familyOf(ip) : undefined;
        if (!family) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `spec.clusterIPs[${i}]`,
            value: ip,
            detail: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
          });
        } else if (families[i] !== undefined && families[i] !== family) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `spec.clusterIPs[${i}]`,
            value: ip,
            detail: `expected an IP of family ${String(families[i])}`,
          });
        } else {
          families[i] = family;
        }
      });
    }
    families.forEach((f, i) => {
      if (f !== 'IPv4' && f !== 'IPv6') {
        errors.push(notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
      } else if (!this.allocators.has(f)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `spec.ipFamilies[${i}]`,
          value: f,
          detail: 'not configured on this cluster',
        });
      }
    });
    if (families.length === 2 && families[0] === families[1]) {
      errors.push({
        type: 'FieldValueDuplicate',
        field: 'spec.ipFamilies[1]',
        value: families[1],
        detail: '',
      });
    }
    if (errors.length) return;
    if (families.length === 0) families.push(this.primary);
    if (spec.ipFamilyPolicy !== 'SingleStack' && families.length === 1 && this.dualStack) {
      families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
    }
    if (spec.ipFamilyPolicy === 'SingleStack' && families.length > 1) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.ipFamilies',
        value: families,
        detail: 'when spec.ipFamilyPolicy is SingleStack only one family may be specified',
      });
      return;
    }
    if (
      old &&
      Array.isArray(old.ipFamilies) &&
      old.ipFamilies[0] !== undefined &&
      old.ipFamilies[0] !== families[0] &&
      needsClusterIP(old)
    ) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.ipFamilies[0]',
        value: families[0],
        detail: 'may not change once set',
      });
    }
    spec.ipFamilies = families;
  }

  private allocateAddresses(
    spec: JsonObject,
    old: JsonObject | undefined,
    tx: Transaction,
    errors: FieldError[],
  ): void {
    const oldIPs = old && needsClusterIP(old) ? clusterIPsOf(old) : [];
    if (!needsClusterIP(spec) || isHeadless(spec)) {
      if (isHeadless(spec)) {
        if (oldIPs.length > 0) {
          errors.push({
            type: 'FieldValueInvalid',
            field: 'spec.clusterIPs[0]',
            value: 'None',
            detail: 'may not change once set',
          });
          return;
        }
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
      }
      for (const ip of oldIPs) tx.releaseOnCommit(() => this.allocators.get(familyOf(ip)!)?.release(ip));
      return;
    }
    if (old && needsClusterIP(old) && isHeadless(old)) {
      errors.push({
        type: 'FieldValueInvalid',
        field: 'spec.clusterIPs[0]',
        value: spec.clusterIP ?? '',
        detail: 'may not change once set',
      });
      return;
    }
    const families = spec.ipFamilies as IPFamily[];
    const requested = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as string[]) : [];
    const result: string[] = [];
    families.forEach((family, i) => {
      const allocator = this.allocators.get(family)!;
      const want = requested[i];
      if (oldIPs[i] !== undefined) {
        if (want !== undefined && want !== oldIPs[i]) {
          errors.push({
            type: 'FieldValueInvalid',
            field: i === 0 ? 'spec.clusterIPs[0]' : `spec.clusterIPs[${i}]`,
            value: want,
            detail: 'may not change once set',
          });
        }
        result.push(oldIPs[i]!);
        return;
      }
      if (want !== undefined) {
        const error = allocator.allocate(want);
        if (error) {
          errors.push({
            type: 'FieldValueInvalid',
            field: `spec.clusterIPs`,
            value: requested,
            detail: error,
          });
          return;
        }
        tx.claimed(() => allocator.release(want));
        result.push(want);
      } else {
        const ip = allocator.allocateNext();
        if (!ip) {
          errors.push({
            type: 'FieldValueInvalid',
            field: 'spec.clusterIPs',
            value: requested,
            detail: `failed to allocate IP: range is full (${allocator.cidr})`,
          });
          return;
        }
        tx.claimed(() => allocator.release(ip));
        result.push(ip);
      }
    });
    // A downgrade from dual-stack frees the secondary address.
    for (const ip of oldIPs.slice(families.length))
      tx.releaseOnCommit(() => this.allocators.get(familyOf(ip)!)?.release(ip));
    if (errors.length) return;
    spec.clusterIPs = result;
    spec.clusterIP = result[0];
  }

  private allocatePorts(
    spec: JsonObject,
    old: JsonObject | undefined,
    tx: Transaction,
    errors: FieldError[],
  ): void {
    const held = new Set(old ? nodePortsOf(old) : []);
    const kept = new Set<number>();
    // A node port may serve several Service ports of different protocols (DNS on TCP and UDP 53),
    // and a new port shares the node port already given to the same port number.
    const protocolsOn = new Map<number, Set<unknown>>();
    const byServicePort = new Map<unknown, number>();
    const use = (port: number, p: Port): void => {
      kept.add(port);
      byServicePort.set(p.port, port);
      const protocols = protocolsOn.get(port) ?? new Set();
      protocols.add(p.protocol);
      protocolsOn.set(port, protocols);
    };
    if (needsNodePorts(spec)) {
      ports(spec).forEach((p, i) => {
        const field = `spec.ports[${i}].nodePort`;
        if (typeof p.nodePort === 'number' && p.nodePort !== 0) {
          const protocols = protocolsOn.get(p.nodePort);
          if (protocols?.has(p.protocol)) {
            errors.push({ type: 'FieldValueDuplicate', field, value: p.nodePort, detail: '' });
          } else if (protocols || held.has(p.nodePort)) {
            use(p.nodePort, p);
          } else {
            const error = this.nodePorts.allocate(p.nodePort);
            if (error) {
              errors.push({ type: 'FieldValueInvalid', field, value: p.nodePort, detail: error });
              return;
            }
            const port = p.nodePort;
            use(port, p);
            tx.claimed(() => this.nodePorts.release(port));
          }
          return;
        }
        const shared = byServicePort.get(p.port);
        if (shared !== undefined && !protocolsOn.get(shared)?.has(p.protocol)) {
          p.nodePort = shared;
          use(shared, p);
          return;
        }
        const port = this.nodePorts.allocateNext();
        if (port === undefined) {
          errors.push({ type: 'FieldValueInvalid', field, value: 0, detail: 'range is full' });
          return;
        }
        p.nodePort = port;
        use(port, p);
        tx.claimed(() => this.nodePorts.release(port));
      });
    }
    for (const port of held) if (!kept.has(port)) tx.releaseOnCommit(() => this.nodePorts.release(port));
    const oldHealth =
      old && typeof old.healthCheckNodePort === 'number' ? old.healthCheckNodePort : undefined;
    if (needsHealthCheckNodePort(spec)) {
      const want = spec.healthCheckNodePort;
      if (typeof want === 'number' && want !== 0 && want !== oldHealth) {
        const error = this.nodePorts.allocate(want);
        if (error)
          errors.push({
            type: 'FieldValueInvalid',
            field: 'spec.healthCheckNodePort',
            value: want,
            detail: error,
          });
        else tx.claimed(() => this.nodePorts.release(want));
      } else if (want === undefined || want === 0) {
        const port = oldHealth ?? this.nodePorts.allocateNext();
        if (port === undefined) {
          errors.push({
            type: 'FieldValueInvalid',
            field: 'spec.healthCheckNodePort',
            value: 0,
            detail: 'range is full',
          });
        } else {
          spec.healthCheckNodePort = port;
          if (port !== oldHealth) tx.claimed(() => this.nodePorts.release(port));
        }
      }
    }
    if (oldHealth !== undefined && spec.healthCheckNodePort !== oldHealth) {
      tx.releaseOnCommit(() => this.nodePorts.release(oldHealth));
    }
  }
}
