/**
 * Reading the lab's configuration back: each IPAddressPool's counts (the status the controller
 * writes, MetalLB 0.15's fields) and each ConfigurationState (how each component judged the
 * configuration). Both kinds live in portico-system, where the lab writes its pools.
 */
import type { LabApi } from './api.js';

export interface PoolReport {
  name: string;
  /** The pool's CIDRs and ranges as written. */
  addresses: string[];
  /** Null until the controller has written the pool's status. */
  assignedIPv4: number | null;
  availableIPv4: number | null;
  assignedIPv6: number | null;
  availableIPv6: number | null;
}

export interface ConfigurationStateReport {
  name: string;
  /** Valid, Invalid, or null while nothing is reported. */
  result: string | null;
  errorSummary: string;
}

const NAMESPACE = 'portico-system';
const group = 'metallb.io/v1beta1';

interface PoolObject {
  metadata: { name: string };
  spec?: { addresses?: string[] };
  status?: Partial<Record<'assignedIPv4' | 'availableIPv4' | 'assignedIPv6' | 'availableIPv6', number>>;
}

export async function poolReports(api: LabApi): Promise<PoolReport[]> {
  const pools = await api.list<PoolObject>(api.path(group, 'IPAddressPool', NAMESPACE));
  const count = (n: number | undefined) => (typeof n === 'number' ? n : null);
  return pools.map((p) => ({
    name: p.metadata.name,
    addresses: p.spec?.addresses ?? [],
    assignedIPv4: count(p.status?.assignedIPv4),
    availableIPv4: count(p.status?.availableIPv4),
    assignedIPv6: count(p.status?.assignedIPv6),
    availableIPv6: count(p.status?.availableIPv6),
  }));
}

export async function configurationStateReports(api: LabApi): Promise<ConfigurationStateReport[]> {
  const states = await api.list<{
    metadata: { name: string };
    status?: { result?: string; errorSummary?: string };
  }>(api.path(group, 'ConfigurationState', NAMESPACE));
  return states.map((s) => ({
    name: s.metadata.name,
    result: s.status?.result ?? null,
    errorSummary: s.status?.errorSummary ?? '',
  }));
}

/** `assigned/available` of one family, `?` while the controller has not written the status. */
export function poolCounts(p: PoolReport): string {
  const pair = (assigned: number | null, available: number | null) =>
    `${assigned ?? '?'} assigned, ${available ?? '?'} available`;
  return `IPv4 ${pair(p.assignedIPv4, p.availableIPv4)}; IPv6 ${pair(p.assignedIPv6, p.availableIPv6)}`;
}
