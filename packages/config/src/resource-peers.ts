/**
 * BGPPeer (metallb.io/v1beta2, and the older v1beta1 whose fields are a subset) and BFDProfile
 * resources into the model, with the rules of MetalLB's peerFromCR, parseTimers and
 * bfdProfileFromCR, the limits of the CRDs in manifests/crds, and what Portico's speaker can not
 * do refused by name: `vrf`, `interface` (unnumbered sessions) and `localASN`.
 */
import { Buffer } from 'node:buffer';
import { truncateToSeconds } from './duration.js';
import { canonicalIP } from '@portico/net';
import type { BfdProfile, Peer } from './model.js';
import { FieldReader, isMap, type Json } from './resource-fields.js';

/** A resource as the decoder sees it, after the envelope checks. */
export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: unknown;
  /** The whole object (Secrets have no spec). */
  readonly object: Json;
}

export const label = (r: Resource) => `${r.kind} "${r.name}"`;

const uint32Max = 4294967295;
const defaultHoldTimeSeconds = 90;
const defaultPeerPort = 179;

const v1beta1PeerFields = [
  'myASN',
  'peerASN',
  'peerAddress',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'routerID',
  'nodeSelectors',
  'password',
  'bfdProfile',
  'ebgpMultiHop',
] as const;

const v1beta2PeerFields = [
  ...v1beta1PeerFields,
  'dynamicASN',
  'localASN',
  'interface',
  'connectTime',
  'passwordSecret',
  'enableGracefulRestart',
  'vrf',
  'disableMP',
  'dualStackAddressFamily',
] as const;

const bfdFields = [
  ['receiveInterval', 10, 60000],
  ['transmitInterval', 10, 60000],
  ['detectMultiplier', 2, 255],
  ['echoInterval', 10, 60000],
  ['minimumTtl', 1, 254],
] as const;

export function decodeBfdProfile(resource: Resource, errors: string[]): BfdProfile | undefined {
  const read = new FieldReader(errors, label(resource));
  const before = read.count;
  const spec = read.map(resource.spec, 'spec', [...bfdFields.map(([f]) => f), 'echoMode', 'passiveMode']);
  if (!spec) return undefined;
  const profile: Record<string, unknown> = {
    name: resource.name,
    echoMode: read.bool(spec.echoMode, 'spec.echoMode') ?? false,
    passiveMode: read.bool(spec.passiveMode, 'spec.passiveMode') ?? false,
  };
  for (const [field, min, max] of bfdFields) {
    const value = read.int(spec[field], `spec.${field}`, min, max);
    if (value !== undefined) profile[field] = value;
  }
  return read.count === before ? (profile as unknown as BfdProfile) : undefined;
}

/** The Secrets that passwordSecret can name, by name. */
export type Secrets = ReadonlyMap<string, Resource>;

export function decodePeer(
  resource: Resource,
  bfdProfiles: ReadonlySet<string>,
  secrets: Secrets,
  errors: string[],
): Peer | undefined {
  const read = new FieldReader(errors, label(resource));
  const before = read.count;
  const v1beta1 = resource.apiVersion === 'metallb.io/v1beta1';
  const spec = read.map(resource.spec, 'spec', v1beta1 ? v1beta1PeerFields : v1beta2PeerFields);
  if (!spec) return undefined;

  const myASN = read.int(spec.myASN, 'spec.myASN', 0, uint32Max) ?? 0;
  if (spec.myASN === undefined || myASN === 0) read.fail('spec.myASN', 'missing local ASN');
  const peerASN = read.int(spec.peerASN, 'spec.peerASN', 0, uint32Max) ?? 0;
  const dynamicText = read.string(spec.dynamicASN, 'spec.dynamicASN') ?? '';
  if (dynamicText !== '' && dynamicText !== 'internal' && dynamicText !== 'external') {
    read.fail('spec.dynamicASN', `invalid dynamicASN "${dynamicText}": expected internal or external`);
  }
  if (peerASN === 0 && dynamicText === '') {
    read.fail('spec.peerASN', 'missing peer ASN and dynamicASN');
  } else if (peerASN !== 0 && dynamicText !== '') {
    read.fail('spec.peerASN', `both peer ASN ${peerASN} and dynamicASN "${dynamicText}" specified`);
  }
  const ebgpMultiHop = read.bool(spec.ebgpMultiHop, 'spec.ebgpMultiHop') ?? false;
  if (ebgpMultiHop && myASN !== 0 && peerASN === myASN) {
    read.fail('spec.ebgpMultiHop', 'invalid ebgp-multihop parameter set for an ibgp peer');
  }

  const addressText = read.string(spec.peerAddress, 'spec.peerAddress', 64) ?? '';
  const interfaceName = read.string(spec.interface, 'spec.interface', 253) ?? '';
  let peerAddress: string | undefined;
  if (addressText === '' && interfaceName === '') {
    read.fail('spec.peerAddress', 'peer has no Address or Interface specified');
  } else if (addressText !== '' && interfaceName !== '') {
    read.fail(
      'spec.interface',
      `peer has both Address "${addressText}" and Interface "${interfaceName}" specified`,
    );
  } else if (interfaceName !== '') {
    read.fail(
      'spec.interface',
      `"${interfaceName}": unnumbered BGP sessions (interface instead of peerAddress) are not supported by Portico's speaker`,
    );
  } else {
    peerAddress = ip(addressText);
    if (peerAddress === undefined) read.fail('spec.peerAddress', `invalid BGPPeer address "${addressText}"`);
  }
  const sourceText = read.string(spec.sourceAddress, 'spec.sourceAddress', 64) ?? '';
  const sourceAddress = sourceText === '' ? undefined : ip(sourceText);
  if (sourceText !== '' && sourceAddress === undefined) {
    read.fail('spec.sourceAddress', `invalid source IP "${sourceText}"`);
  }
  const routerIDText = read.string(spec.routerID, 'spec.routerID', 64) ?? '';
  const routerID = routerIDText === '' ? undefined : ip(routerIDText);
  if (routerIDText !== '' && routerID === undefined) {
    read.fail('spec.routerID', `invalid router ID "${routerIDText}"`);
  }
  const peerPort = read.int(spec.peerPort, 'spec.peerPort', v1beta1 ? 0 : 1, 16384) || defaultPeerPort;

  const timers = readTimers(read, spec);
  let connectTime: number | undefined;
  const connectNanos = read.duration(spec.connectTime, 'spec.connectTime');
  if (connectNanos !== undefined) {
    connectTime = truncateToSeconds(connectNanos);
    if (connectNanos % 1_000_000_000n !== 0n) {
      read.fail(
        'spec.connectTime',
        `connect time "${String(spec.connectTime)}" must be a whole number of seconds`,
      );
    } else if (connectTime < 1 || connectTime > 65535) {
      read.fail(
        'spec.connectTime',
        `connect time "${String(spec.connectTime)}" must be between 1s and 65535s`,
      );
    }
  }

  const nodeSelectors = read.selectors(spec.nodeSelectors, 'spec.nodeSelectors');
  const password = readPassword(read, resource, spec, secrets);
  const bfdProfile = read.string(spec.bfdProfile, 'spec.bfdProfile') || undefined;
  if (bfdProfile !== undefined && !bfdProfiles.has(bfdProfile)) {
    read.fail('spec.bfdProfile', `referencing non existing bfd profile "${bfdProfile}"`);
  }
  const vrf = read.string(spec.vrf, 'spec.vrf') ?? '';
  if (vrf !== '') {
    read.fail(
      'spec.vrf',
      `"${vrf}": BGP sessions in a VRF are not supported by Portico's speaker; leave vrf unset`,
    );
  }
  const localASN = read.int(spec.localASN, 'spec.localASN', 1, uint32Max);
  if (localASN !== undefined) {
    read.fail(
      'spec.localASN',
      `${localASN}: a local ASN other than myASN (FRR's local-as) is not supported by Portico's speaker`,
    );
  }
  const enableGracefulRestart = read.bool(spec.enableGracefulRestart, 'spec.enableGracefulRestart') ?? false;
  const disableMP = read.bool(spec.disableMP, 'spec.disableMP') ?? false;
  const dualStackAddressFamily =
    read.bool(spec.dualStackAddressFamily, 'spec.dualStackAddressFamily') ?? false;

  if (read.count !== before || timers === undefined || peerAddress === undefined) return undefined;
  return {
    name: resource.name,
    myASN,
    peerASN,
    ...(dynamicText !== '' && { dynamicASN: dynamicText as 'internal' | 'external' }),
    peerAddress,
    peerPort,
    holdTime: timers.holdTime,
    ...(timers.keepaliveTime !== undefined && { keepaliveTime: timers.keepaliveTime }),
    ...(connectTime !== undefined && { connectTime }),
    ...(sourceAddress !== undefined && { sourceAddress }),
    ...(routerID !== undefined && { routerID }),
    ...(password !== undefined && { password }),
    ...(bfdProfile !== undefined && { bfdProfile }),
    ebgpMultiHop,
    enableGracefulRestart,
    disableMP,
    dualStackAddressFamily,
    nodeSelectors,
  };
}

/** Go's net.ParseIP: canonical text, or undefined (surrounding spaces are not an address). */
function ip(text: string): string | undefined {
  return text === text.trim() ? canonicalIP(text) : undefined;
}

/**
 * MetalLB's parseTimers: a hold time alone gives keepalives at a third of it, a keepalive time
 * alone a hold time of three times it; the hold time (whole seconds) must be 0 or at least 3s and
 * the keepalive time no longer than it. Neither: Portico's default hold time, 90s.
 */
function readTimers(read: FieldReader, spec: Json): { holdTime: number; keepaliveTime?: number } | undefined {
  const before = read.count;
  const hold = read.duration(spec.holdTime, 'spec.holdTime');
  const keepalive = read.duration(spec.keepaliveTime, 'spec.keepaliveTime');
  if (read.count !== before) return undefined;
  if (hold === undefined && keepalive === undefined) return { holdTime: defaultHoldTimeSeconds };
  const holdNanos = hold ?? (keepalive as bigint) * 3n;
  const holdTime = truncateToSeconds(holdNanos);
  if (holdTime !== 0 && holdTime < 3) {
    const field = hold === undefined ? 'spec.keepaliveTime' : 'spec.holdTime';
    const text = String(hold === undefined ? spec.keepaliveTime : spec.holdTime);
    return read.fail(
      field,
      `invalid hold time "${hold === undefined ? `${holdTime}s (3 x keepaliveTime ${text})` : text}": must be 0 or >=3s`,
    );
  }
  if (keepalive !== undefined && hold !== undefined && keepalive > hold) {
    return read.fail(
      'spec.keepaliveTime',
      `invalid keepaliveTime "${String(spec.keepaliveTime)}", must be lower than holdTime "${String(spec.holdTime)}"`,
    );
  }
  // Our model keeps "a third of the hold time" as undefined, as the ConfigMap does.
  return keepalive === undefined ? { holdTime } : { holdTime, keepaliveTime: truncateToSeconds(keepalive) };
}

/** `password`, or the `password` key of the basic-auth Secret that `passwordSecret` names. */
function readPassword(
  read: FieldReader,
  resource: Resource,
  spec: Json,
  secrets: Secrets,
): string | undefined {
  const password = read.string(spec.password, 'spec.password') || undefined;
  const ref = read.map(spec.passwordSecret, 'spec.passwordSecret', ['name', 'namespace']);
  const secretName = read.string(ref?.name, 'spec.passwordSecret.name') ?? '';
  const secretNamespace = read.string(ref?.namespace, 'spec.passwordSecret.namespace') ?? '';
  if (secretName === '') return password;
  if (password !== undefined) {
    return read.fail('spec.passwordSecret', 'can not have both password and passwordSecret set');
  }
  if (secretNamespace !== '' && resource.namespace !== undefined && secretNamespace !== resource.namespace) {
    return read.fail(
      'spec.passwordSecret.namespace',
      `"${secretNamespace}": the Secret must be in the BGPPeer's namespace "${resource.namespace}"`,
    );
  }
  const secret = secrets.get(secretName);
  if (!secret)
    return read.fail('spec.passwordSecret.name', `secret ref not found: no Secret "${secretName}"`);
  const type = secret.object.type;
  if (type !== 'kubernetes.io/basic-auth') {
    return read.fail(
      'spec.passwordSecret.name',
      `Secret "${secretName}" has type ${JSON.stringify(type ?? 'Opaque')}, type "kubernetes.io/basic-auth" is expected`,
    );
  }
  const stringData = isMap(secret.object.stringData) ? secret.object.stringData : {};
  const data = isMap(secret.object.data) ? secret.object.data : {};
  if (typeof stringData.password === 'string') return stringData.password;
  if (typeof data.password === 'string') return Buffer.from(data.password, 'base64').toString('utf8');
  return read.fail('spec.passwordSecret.name', `password not specified in the Secret "${secretName}"`);
}
