/**
 * What the real kube-apiserver does to a Service on create and update beyond storing it, ported
 * from its Service registry (pkg/registry/core/service: storage.go, alloc.go, strategy.go):
 * IP family fields (initIPFamilyFields), cluster IPs per family and node ports allocated from
 * their ranges, allocated values carried over when an update leaves them empty
 * (patchAllocatedValues, normalizeClusterIPs), single/dual-stack upgrades and downgrades, the
 * fields a type change drops (dropTypeDependentFields), then the Service validation
 * (service-validation.ts), all answered with the real server's 422 messages. Allocations are
 * transactional: a rejected request leaves every allocator as it was. (Defaulting runs at
 * decoding, defaults.ts.)
 */
import { internalError, invalid, type FieldError } from './errors.js';
import { parseAddress, type IPFamily } from '@portico/net';
import { IpAllocator } from './ip-allocator.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import { PortAllocator } from './port-allocator.js';
import type { ResourceInfo } from './resources.js';
import {
  clusterIPsOf,
  clusterIPsRelatedErrors,
  externallyAccessible,
  familiesOf,
  needsHealthCheck,
  portsOf,
  specOf,
  validateServiceCreate,
  validateServiceUpdate,
} from './service-validation.js';

export interface ServiceNetworkOptions {
  /** Service CIDRs; the first one's family is the primary family. Two CIDRs make the cluster dual-stack. */
  serviceCidrs?: string[];
  nodePortRange?: [number, number];
}

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

class ServiceError extends Error {
  constructor(readonly errors: FieldError[]) {
    super('invalid service');
  }
}

const needsClusterIP = (spec: JsonObject) => spec.type !== 'ExternalName';
const needsNodePort = (spec: JsonObject) => spec.type === 'NodePort' || spec.type === 'LoadBalancer';
const shouldAllocateNodePorts = (spec: JsonObject) =>
  spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
const sameList = (a: unknown[], b: unknown[]) => jsonEqual(a, b);
const invalidAt = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});

function nodePortsOf(spec: JsonObject): number[] {
  return portsOf(spec)
    .map((p) => p.nodePort)
    .filter((n): n is number => typeof n === 'number' && n !== 0);
}

/** normalizeClusterIPs: clusterIP and clusterIPs made consistent before anything else. */
function normalizeClusterIPs(spec: JsonObject, old: JsonObject | undefined): void {
  const clusterIP = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (!old) {
    if (clusterIP && clusterIPsOf(spec).length === 0) spec.clusterIPs = [clusterIP];
    return;
  }
  const oldIPs = clusterIPsOf(old);
  if (oldIPs.length > 0 && clusterIPsOf(spec).length === 0 && old.clusterIP === spec.clusterIP) {
    spec.clusterIPs = [...oldIPs];
  }
  if (old.clusterIP !== spec.clusterIP) {
    const same = sameList(oldIPs, clusterIPsOf(spec));
    if (old.clusterIP && !clusterIP) {
      if (same) delete spec.clusterIPs;
    } else if (same) {
      spec.clusterIPs = [clusterIP];
    }
  }
}

/** patchAllocatedValues: an update that leaves allocated values empty keeps the old ones. */
function patchAllocatedValues(spec: JsonObject, old: JsonObject): void {
  if (needsClusterIP(old) && needsClusterIP(spec)) {
    if (!spec.clusterIP && old.clusterIP !== undefined) spec.clusterIP = old.clusterIP;
    if (clusterIPsOf(spec).length === 0 && clusterIPsOf(old).length > 0)
      spec.clusterIPs = [...clusterIPsOf(old)];
  }
  if (needsNodePort(old) && needsNodePort(spec)) {
    const newPorts = new Set(nodePortsOf(spec));
    const used = new Set(nodePortsOf(old).filter((p) => newPorts.has(p)));
    const byName = new Map(portsOf(old).map((p) => [String(p.name ?? ''), p.nodePort]));
    for (const p of portsOf(spec)) {
      if (!p.nodePort) {
        const previous = byName.get(String(p.name ?? ''));
        if (typeof previous === 'number' && previous !== 0 && !used.has(previous)) p.nodePort = previous;
      }
    }
  }
  if (needsHealthCheck(old) && needsHealthCheck(spec) && !spec.healthCheckNodePort) {
    spec.healthCheckNodePort = old.healthCheckNodePort;
  }
}

/** dropTypeDependentFields (PrepareForUpdate): what the old type set and the new one cannot have. */
function dropTypeDependentFields(service: JsonObject, spec: JsonObject, old: JsonObject): void {
  if (needsClusterIP(old) && !needsClusterIP(spec)) {
    if (sameList(clusterIPsOf(old), clusterIPsOf(spec))) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(familiesOf(old), familiesOf(spec))) delete spec.ipFamilies;
    if (spec.ipFamilyPolicy === old.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(old) && !needsNodePort(spec) && sameList(nodePortsOf(old), nodePortsOf(spec))) {
    for (const p of portsOf(spec)) delete p.nodePort;
  }
  if (
    needsHealthCheck(old) &&
    !needsHealthCheck(spec) &&
    spec.healthCheckNodePort === old.healthCheckNodePort
  ) {
    delete spec.healthCheckNodePort;
  }
  if (old.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (
      spec.allocateLoadBalancerNodePorts !== undefined &&
      spec.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts
    )
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
  if (spec.type !== 'LoadBalancer' && isObject(service.status))
    service.status = { ...service.status, loadBalancer: {} };
}

/**
 * An ExternalName Service shows no internalTrafficPolicy (the real server drops it when reading,
 * defaultOnReadInternalTrafficPolicy; here it is not stored).
 */
function dropExternalNameTrafficPolicy(spec: JsonObject): void {
  if (spec.type === 'ExternalName') delete spec.internalTrafficPolicy;
}

/** isMatchingPreferDualStackClusterIPFields: a PreferDualStack update that changes nothing of it. */
function unchangedPreferDualStack(spec: JsonObject, old: JsonObject | undefined): boolean {
  if (!old || spec.ipFamilyPolicy === undefined || old.type !== spec.type) return false;
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(spec.type as string)) return false;
  if (spec.ipFamilyPolicy !== 'PreferDualStack') return false;
  if (old.ipFamilyPolicy !== undefined && old.ipFamilyPolicy !== 'PreferDualStack') return false;
  return sameList(clusterIPsOf(old), clusterIPsOf(spec)) && sameList(familiesOf(old), familiesOf(spec));
}

export class ServiceRegistry {
  private readonly allocators = new Map<IPFamily, IpAllocator>();
  private readonly primary: IPFamily;
  readonly nodePorts: PortAllocator;
  /**
   * Node ports a dry run handed out, when one is going on: like the real dry-run allocators,
   * a dry run checks requested values but takes nothing, and answers placeholder values (the
   * network address for a cluster IP, 32769 and up for node ports).
   */
  private dryRunPorts: number[] | undefined;

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
    return this.allocators.get(this.primary)!.allocateFirst()!;
  }

  /** Allocates and validates a new Service (beginCreate, then its validation), all or nothing. */
  prepareCreate(service: JsonObject, dryRun = false): void {
    const spec = isObject(service.spec) ? service.spec : (service.spec = {});
    normalizeClusterIPs(spec, undefined);
    this.transaction(service, dryRun, (tx) => {
      this.initIPFamilyFields(spec, undefined);
      this.allocClusterIPs(service, spec, tx);
      this.allocNodePorts(service, spec, tx);
      const errors = validateServiceCreate(service);
      dropExternalNameTrafficPolicy(spec);
      return errors;
    });
  }

  /** The same for an update of `old` (beginUpdate, PrepareForUpdate, ValidateServiceUpdate). */
  prepareUpdate(service: JsonObject, old: JsonObject, dryRun = false): void {
    const spec = isObject(service.spec) ? service.spec : (service.spec = {});
    const oldSpec = specOf(old);
    patchAllocatedValues(spec, oldSpec);
    normalizeClusterIPs(spec, oldSpec);
    this.transaction(service, dryRun, (tx) => {
      this.initIPFamilyFields(spec, oldSpec);
      this.updateClusterIPs(service, spec, oldSpec, tx);
      this.updateNodePorts(service, spec, oldSpec, tx);
      dropTypeDependentFields(service, spec, oldSpec);
      const errors = validateServiceUpdate(service, old);
      dropExternalNameTrafficPolicy(spec);
      return errors;
    });
  }

  private transaction(service: JsonObject, dryRun: boolean, work: (tx: Transaction) => FieldError[]): void {
    const tx = new Transaction();
    const name = String((service.metadata as JsonObject | undefined)?.name ?? '');
    this.dryRunPorts = dryRun ? [] : undefined;
    try {
      const errors = work(tx);
      if (errors.length) throw new ServiceError(errors);
      if (!dryRun) tx.commit();
    } catch (error) {
      tx.rollback();
      if (error instanceof ServiceError) throw invalid(this.resource, name, error.errors);
      throw error;
    } finally {
      this.dryRunPorts = undefined;
    }
  }

  /** Gives back everything a deleted Service held. */
  release(service: JsonObject): void {
    const spec = specOf(service);
    for (const ip of clusterIPsOf(spec))
      if (ip !== 'None') this.allocators.get(parseAddress(ip)!.family)?.release(ip);
    for (const port of nodePortsOf(spec)) this.nodePorts.release(port);
    if (typeof spec.healthCheckNodePort === 'number') this.nodePorts.release(spec.healthCheckNodePort);
  }

  /** initIPFamilyFields: ipFamilyPolicy and ipFamilies from what was asked and what the cluster has. */
  private initIPFamilyFields(spec: JsonObject, old: JsonObject | undefined): void {
    if (spec.type === 'ExternalName' || unchangedPreferDualStack(spec, old)) return;
    if (spec.ipFamilyPolicy === undefined) {
      if (old && old.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = old.ipFamilyPolicy;
      else if (
        spec.clusterIP === 'None' &&
        !(isObject(spec.selector) && Object.keys(spec.selector).length > 0)
      )
        spec.ipFamilyPolicy = 'RequireDualStack';
      else spec.ipFamilyPolicy = 'SingleStack';
    }
    const related = clusterIPsRelatedErrors(spec, old);
    if (related.length) throw new ServiceError(related);
    const errors: FieldError[] = [];
    if (old) {
      if (spec.ipFamilyPolicy === 'SingleStack') {
        if (sameList(clusterIPsOf(old), clusterIPsOf(spec)) && clusterIPsOf(spec).length > 1)
          spec.clusterIPs = clusterIPsOf(spec).slice(0, 1);
        if (sameList(familiesOf(old), familiesOf(spec)) && familiesOf(spec).length > 1)
          spec.ipFamilies = familiesOf(spec).slice(0, 1);
      } else {
        const ips = clusterIPsOf(spec);
        if (ips.length > 0 && ips.length < clusterIPsOf(old).length)
          errors.push(
            invalidAt(
              'spec.ipFamilyPolicy',
              spec.ipFamilyPolicy,
              "must be 'SingleStack' to release the secondary cluster IP",
            ),
          );
        const families = familiesOf(spec);
        if (families.length > 0 && families.length < familiesOf(old).length)
          errors.push(
            invalidAt(
              'spec.ipFamilyPolicy',
              spec.ipFamilyPolicy,
              "must be 'SingleStack' to release the secondary IP family",
            ),
          );
      }
    }
    if (spec.ipFamilyPolicy === 'SingleStack') {
      if (clusterIPsOf(spec).length === 2)
        errors.push(
          invalidAt(
            'spec.ipFamilyPolicy',
            spec.ipFamilyPolicy,
            "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
          ),
        );
      if (familiesOf(spec).length === 2)
        errors.push(
          invalidAt(
            'spec.ipFamilyPolicy',
            spec.ipFamilyPolicy,
            "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
          ),
        );
    }
    const ips = clusterIPsOf(spec);
    for (let i = 0; i < ips.length && ips[i] !== 'None'; i++) {
      const family = parseAddress(ips[i]!)?.family ?? 'unknown';
      if (i >= familiesOf(spec).length) {
        if (!this.allocators.has(family as IPFamily))
          errors.push(invalidAt(`spec.clusterIPs[${i}]`, ips, `${family} is not configured on this cluster`));
        else spec.ipFamilies = [...familiesOf(spec), family];
      }
    }
    if (errors.length) throw new ServiceError(errors);
    const other = (f: string) => (f === 'IPv4' ? 'IPv6' : 'IPv4');
    if (spec.clusterIP === 'None' && !(isObject(spec.selector) && Object.keys(spec.selector).length > 0)) {
      if (familiesOf(spec).length === 0) spec.ipFamilies = [this.primary];
      if (familiesOf(spec).length < 2 && spec.ipFamilyPolicy !== 'SingleStack') {
        spec.ipFamilies = [...familiesOf(spec), other(familiesOf(spec)[0]!)];
      }
      return;
    }
    if (spec.ipFamilyPolicy === 'RequireDualStack' && !this.dualStack)
      errors.push(
        invalidAt(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy,
          'this cluster is not configured for dual-stack services',
        ),
      );
    familiesOf(spec).forEach((family, i) => {
      if (!this.allocators.has(family as IPFamily))
        errors.push(invalidAt(`spec.ipFamilies[${i}]`, family, 'not configured on this cluster'));
    });
    if (errors.length) throw new ServiceError(errors);
    if (familiesOf(spec).length === 0) spec.ipFamilies = [this.primary];
    if (spec.ipFamilyPolicy !== 'SingleStack' && familiesOf(spec).length === 1 && this.dualStack) {
      spec.ipFamilies = [...familiesOf(spec), other(familiesOf(spec)[0]!)];
    }
  }

  /** allocIPs: the requested or the next free address of each family in TO_ALLOCATE. */
  private allocIPs(
    service: JsonObject,
    spec: JsonObject,
    toAllocate: Map<IPFamily, string>,
    tx: Transaction,
  ): Map<IPFamily, string> {
    const allocated = new Map<IPFamily, string>();
    for (const [family, want] of toAllocate) {
      const allocator = this.allocators.get(family)!;
      if (this.dryRunPorts) {
        const error = want === '' ? undefined : allocator.check(want);
        if (error) {
          throw new ServiceError([
            invalidAt('spec.clusterIPs', clusterIPsOf(spec), `failed to allocate IP ${want}: ${error}`),
          ]);
        }
        allocated.set(family, want === '' ? allocator.network : want);
        continue;
      }
      if (want === '') {
        const ip = allocator.allocateNext();
        if (!ip) {
          throw internalError(
            `failed to allocate a serviceIP for Service ${JSON.stringify(String((service.metadata as JsonObject).name))}: range is full`,
          );
        }
        tx.claimed(() => allocator.release(ip));
        allocated.set(family, ip);
      } else {
        const error = allocator.allocate(want);
        if (error) {
          throw new ServiceError([
            invalidAt('spec.clusterIPs', clusterIPsOf(spec), `failed to allocate IP ${want}: ${error}`),
          ]);
        }
        tx.claimed(() => allocator.release(want));
        allocated.set(family, want);
      }
    }
    return allocated;
  }

  /** allocClusterIPs: one address per family in order of spec.ipFamilies. */
  private allocClusterIPs(service: JsonObject, spec: JsonObject, tx: Transaction): void {
    if (spec.type === 'ExternalName') return;
    const ips = clusterIPsOf(spec);
    if (ips[0] === 'None') return;
    const families = familiesOf(spec) as IPFamily[];
    const toAllocate = new Map<IPFamily, string>();
    families.forEach((family, i) => {
      if (i > ips.length - 1) ips.push('');
      toAllocate.set(family, ips[i]!);
    });
    spec.clusterIPs = ips;
    const allocated = this.allocIPs(service, spec, toAllocate, tx);
    families.forEach((family, i) => {
      const ip = allocated.get(family);
      if (ip === undefined) return;
      ips[i] = ip;
      if (i === 0) spec.clusterIP = ip;
    });
  }

  /** updateClusterIPs: allocate on leaving ExternalName or upgrading, release on the opposite. */
  private updateClusterIPs(service: JsonObject, spec: JsonObject, old: JsonObject, tx: Transaction): void {
    if (unchangedPreferDualStack(spec, old)) return;
    const release = (family: string, ip: string) =>
      tx.releaseOnCommit(() => this.allocators.get(family as IPFamily)?.release(ip));
    if (old.type === 'ExternalName' && spec.type !== 'ExternalName') {
      this.allocClusterIPs(service, spec, tx);
      return;
    }
    const oldIPs = clusterIPsOf(old);
    if (oldIPs[0] === 'None') return;
    if (old.type !== 'ExternalName' && spec.type === 'ExternalName') {
      familiesOf(old).forEach((family, i) => release(family, oldIPs[i]!));
      return;
    }
    const oldFamilies = familiesOf(old);
    const families = familiesOf(spec) as IPFamily[];
    if (oldFamilies.length === 1 && families.length === 2) {
      const ips = clusterIPsOf(spec);
      if (ips.length < 2) ips.push('');
      spec.clusterIPs = ips;
      const allocated = this.allocIPs(service, spec, new Map([[families[1]!, ips[1]!]]), tx);
      ips[1] = allocated.get(families[1]!)!;
    } else if (oldFamilies.length === 2 && families.length === 1) {
      release(oldFamilies[1]!, oldIPs[1]!);
    }
  }

  /** Claims a requested node port; a 422 naming the port's field when it is taken or out of range. */
  private claimNodePort(port: number, field: string, tx: Transaction): void {
    if (this.dryRunPorts) {
      // A dry run only checks that nobody holds it (not even its range).
      if (this.nodePorts.isAllocated(port) || this.dryRunPorts.includes(port)) {
        throw new ServiceError([invalidAt(field, port, 'provided port is already allocated')]);
      }
      this.dryRunPorts.push(port);
      return;
    }
    const error = this.nodePorts.allocate(port);
    if (error) throw new ServiceError([invalidAt(field, port, error)]);
    tx.claimed(() => this.nodePorts.release(port));
  }

  private nextNodePort(tx: Transaction, what = 'a nodePort'): number {
    if (this.dryRunPorts) {
      const port = Math.max(32768, ...this.dryRunPorts) + 1;
      this.dryRunPorts.push(port);
      return port;
    }
    const port = this.nodePorts.allocateNext();
    if (port === undefined) throw internalError(`failed to allocate ${what}: range is full`);
    tx.claimed(() => this.nodePorts.release(port));
    return port;
  }

  /** txnAllocNodePorts (initNodePorts and the health check node port) for a new Service. */
  private allocNodePorts(service: JsonObject, spec: JsonObject, tx: Transaction): void {
    if (needsNodePort(spec)) {
      const byServicePort = new Map<unknown, number>();
      const ports = portsOf(spec);
      ports.forEach((p, i) => {
        if (!p.nodePort && !shouldAllocateNodePorts(spec)) return;
        const given = byServicePort.get(p.port);
        if (given === undefined) {
          const requested = ports.find((q) => q.port === p.port && q.nodePort)?.nodePort;
          if (typeof requested === 'number') {
            this.claimNodePort(requested, `spec.ports[${i}].nodePort`, tx);
            p.nodePort = requested;
            byServicePort.set(p.port, requested);
          } else {
            const port = this.nextNodePort(tx);
            p.nodePort = port;
            byServicePort.set(p.port, port);
          }
        } else if (p.nodePort !== given) {
          if (!p.nodePort) p.nodePort = given;
          else this.claimNodePort(p.nodePort as number, `spec.ports[${i}].nodePort`, tx);
        }
      });
    }
    if (needsHealthCheck(spec)) this.allocHealthCheckNodePort(spec, tx);
  }

  private allocHealthCheckNodePort(spec: JsonObject, tx: Transaction): void {
    const wanted = typeof spec.healthCheckNodePort === 'number' ? spec.healthCheckNodePort : 0;
    if (wanted !== 0 && this.dryRunPorts) {
      if (this.nodePorts.isAllocated(wanted) || this.dryRunPorts.includes(wanted)) {
        throw internalError(
          `failed to allocate requested HealthCheck NodePort ${wanted}: provided port is already allocated`,
        );
      }
      this.dryRunPorts.push(wanted);
    } else if (wanted !== 0) {
      const error = this.nodePorts.allocate(wanted);
      if (error) throw internalError(`failed to allocate requested HealthCheck NodePort ${wanted}: ${error}`);
      tx.claimed(() => this.nodePorts.release(wanted));
    } else {
      spec.healthCheckNodePort = this.nextNodePort(tx, 'a HealthCheck NodePort 0');
    }
  }

  /** txnUpdateNodePorts: node ports and the health check node port of an updated Service. */
  private updateNodePorts(service: JsonObject, spec: JsonObject, old: JsonObject, tx: Transaction): void {
    const oldPorts = nodePortsOf(old);
    const release = (port: number) => tx.releaseOnCommit(() => this.nodePorts.release(port));
    if (needsNodePort(old) && (spec.type === 'ExternalName' || spec.type === 'ClusterIP')) {
      for (const port of oldPorts) release(port);
    }
    if (needsNodePort(spec)) {
      const claimed = new Set<number>();
      const seen = new Set<string>();
      portsOf(spec).forEach((p, i) => {
        if (!p.nodePort && !shouldAllocateNodePorts(spec)) return;
        if (p.nodePort) {
          const port = p.nodePort as number;
          if (!oldPorts.includes(port) && !claimed.has(port)) {
            this.claimNodePort(port, `spec.ports[${i}].nodePort`, tx);
            claimed.add(port);
          }
        } else {
          p.nodePort = this.nextNodePort(tx);
        }
        const key = `${String(p.protocol)}/${String(p.nodePort)}`;
        if (seen.has(key))
          throw internalError(`duplicate nodePort: {${String(p.protocol)} ${String(p.nodePort)}}`);
        seen.add(key);
      });
      const now = new Set(nodePortsOf(spec));
      for (const port of oldPorts) if (!now.has(port)) release(port);
    }
    const oldHealth = typeof old.healthCheckNodePort === 'number' ? old.healthCheckNodePort : 0;
    if (!needsHealthCheck(old) && needsHealthCheck(spec)) {
      this.allocHealthCheckNodePort(spec, tx);
    } else if (needsHealthCheck(old) && !needsHealthCheck(spec) && oldHealth) {
      release(oldHealth);
    }
  }
}
