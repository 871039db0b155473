/**
 * A Gateway's addresses and what they do to its status (pure). The addresses are its Service's
 * LoadBalancer IPs (from Portico's pools) and the static `--gateway-address`; `spec.addresses` must
 * be among them. The compile step decides about listeners; this step adds the addresses:
 * Accepted=False/UnsupportedAddress for an address type we cannot honour, Programmed=False with
 * AddressNotUsable (a requested address cannot be had) or AddressNotAssigned (none yet).
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import { condition } from './conditions.js';
import { requestedAddresses } from './gateway-service.js';
import type { Condition, Gateway, GatewayStatus } from './types.js';

export interface GatewayAddressing {
  /** What status.addresses reports. */
  readonly addresses: readonly string[];
  readonly unsupported?: string;
  readonly notUsable?: string;
  /** Why there is no address yet (the message of Programmed=False/AddressNotAssigned). */
  readonly waiting?: string;
}

export interface AddressingInputs {
  /** `--gateway-address`, when it is an address clients can use (not 0.0.0.0 or ::). */
  readonly staticAddresses: readonly string[];
  /** Whether Gateways get a LoadBalancer Service (`--gateway-service-selector`). */
  readonly withService: boolean;
  /** The Gateway's Service as the API server has it, if it exists. */
  readonly service?: V1Service | undefined;
  /** The controller's last AllocationFailed message for that Service, if any. */
  readonly allocationError?: string | undefined;
}

export function gatewayAddressing(gateway: Gateway, inputs: AddressingInputs): GatewayAddressing {
  const requested = requestedAddresses(gateway);
  if (requested.unsupported) return { addresses: [], unsupported: requested.unsupported };
  const assigned = inputs.withService
    ? (inputs.service?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []))
    : [];
  const addresses = [...assigned, ...inputs.staticAddresses];
  if (requested.notUsable) return { addresses, notUsable: requested.notUsable };
  const have = new Set(addresses.map(canonical));
  const missing = requested.ips.filter((ip) => !have.has(canonical(ip)));
  if (missing.length > 0) {
    const serviceName = inputs.service?.metadata?.name;
    if (!inputs.withService)
      return {
        addresses,
        notUsable: `requested address ${missing.join(', ')} is not served: Gateways are served on ${
          inputs.staticAddresses.join(', ') || 'no address'
        } (portico ingress --gateway-address), and without --gateway-service-selector no address is allocated`,
      };
    if (inputs.allocationError && mentionsAny(inputs.allocationError, missing))
      return { addresses: [], notUsable: `cannot use ${missing.join(', ')}: ${inputs.allocationError}` };
    return {
      addresses: [],
      waiting: `waiting for ${missing.join(', ')} to be assigned to Service ${serviceName ?? '(not created yet)'}`,
    };
  }
  if (addresses.length > 0) return { addresses };
  if (!inputs.withService)
    return {
      addresses,
      waiting:
        'no address is configured for Gateways (portico ingress --gateway-address or --gateway-service-selector)',
    };
  const serviceName = inputs.service?.metadata?.name;
  return {
    addresses,
    waiting: inputs.allocationError
      ? `Service ${serviceName} has no address: ${inputs.allocationError}`
      : `waiting for an address from Portico's pools on Service ${serviceName ?? '(not created yet)'}`,
  };
}

/** The compiled status with the addresses and the conditions they decide. */
export function withAddressing(
  status: GatewayStatus,
  generation: number | undefined,
  a: GatewayAddressing,
): GatewayStatus {
  const conditions = [...(status.conditions ?? [])];
  const replace = (c: Condition) => {
    const i = conditions.findIndex((x) => x.type === c.type);
    if (i < 0) conditions.push(c);
    else conditions[i] = c;
  };
  const programmed = conditions.find((c) => c.type === 'Programmed');
  // The compile step says Invalid when no listener can be served; that stands whatever the addresses.
  const listenersServed = programmed?.reason !== 'Invalid';
  if (a.unsupported) {
    replace(condition('Accepted', false, 'UnsupportedAddress', a.unsupported, generation));
    replace(
      condition('Programmed', false, 'Invalid', `the Gateway is not accepted: ${a.unsupported}`, generation),
    );
  } else if (listenersServed) {
    if (a.notUsable) replace(condition('Programmed', false, 'AddressNotUsable', a.notUsable, generation));
    else if (a.addresses.length > 0)
      replace(condition('Programmed', true, 'Programmed', `served on ${a.addresses.join(', ')}`, generation));
    else replace(condition('Programmed', false, 'AddressNotAssigned', a.waiting ?? 'no address', generation));
  }
  return {
    ...status,
    addresses: a.addresses.map((value) => ({ type: isIP(value) ? 'IPAddress' : 'Hostname', value })),
    conditions,
  };
}

/** Whether --gateway-address is an address to report (a wildcard bind address is not). */
export function reportableAddress(address: string): boolean {
  return address !== '0.0.0.0' && address !== '::' && address !== '';
}

function canonical(ip: string): string {
  // IPv6 spellings differ (2001:db8::1 vs 2001:0db8:0:0::1); the URL parser writes one form.
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip;
}

function mentionsAny(message: string, ips: readonly string[]): boolean {
  return ips.some((ip) => message.includes(ip) || message.includes(canonical(ip).replace(/^\[|\]$/g, '')));
}
