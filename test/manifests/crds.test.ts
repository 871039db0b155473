/**
 * manifests/crds (MetalLB's metallb.io API, our own schemas) on a real kube-apiserver:
 *
 * 1. the pinned kubectl applies the directory with `kubectl apply --server-side -k`;
 * 2. MetalLB resources as MetalLB's documentation writes them, one per feature and together using
 *    every field, are accepted and come back with MetalLB's defaults;
 * 3. resources that MetalLB's webhook refuses are refused at admission, each with an error that
 *    names the field and the value; each case breaks exactly one rule, because the API server
 *    skips the CEL rules of an object that already fails its OpenAPI schema;
 * 4. v1beta1 BGPPeers are still served, the status subresource works, and the one transition rule
 *    (enableGracefulRestart is fixed) holds;
 * 5. `portico config convert` output for the ConfigMaps of the config tests is accepted as is;
 * 6. all of it on both API servers (API_SERVERS): the development API server checks the OpenAPI
 *    schemas but evaluates no CEL rule, so the cases only CEL refuses are listed (celOnlyCases)
 *    and must be accepted there with the server's warning that it did not check them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_SERVERS,
  ensureBinaries,
  startKubeApiServer,
  type KubeApiServer,
} from '@portico/dev-kube-apiserver';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';

const root = new URL('../../', import.meta.url).pathname;
const namespace = 'metallb-system';

type Obj = Record<string, unknown>;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a kubectl binary against one kubeconfig. */
function kubectlWith(binary: string, kubeconfig: string, args: string[], input?: string): Promise<Result> {
  return runProcess(binary, ['--kubeconfig', kubeconfig, ...args], input);
}

/** Runs a program from the repository root, asynchronously: the development API server shares
 * this process's event loop, so a synchronous child would stall it. */
function runProcess(program: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** The built CLI, run by the repository's Node. */
const portico = (args: string[]) =>
  runProcess(join(root, 'node_modules/.bin/node'), [join(root, 'node_modules/.bin/portico'), ...args]);

const v1beta1 = 'metallb.io/v1beta1';
const v1beta2 = 'metallb.io/v1beta2';
const resource = (apiVersion: string, kind: string, name: string, spec?: Obj): Obj => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  ...(spec === undefined ? {} : { spec }),
});
const pool = (name: string, spec: Obj) => resource(v1beta1, 'IPAddressPool', name, spec);
const l2 = (name: string, spec?: Obj) => resource(v1beta1, 'L2Advertisement', name, spec);
const bgpAdv = (name: string, spec: Obj) => resource(v1beta1, 'BGPAdvertisement', name, spec);
const community = (name: string, spec: Obj) => resource(v1beta1, 'Community', name, spec);
const bfd = (name: string, spec: Obj) => resource(v1beta1, 'BFDProfile', name, spec);
const peer = (name: string, spec: Obj) => resource(v1beta2, 'BGPPeer', name, spec);
const peerV1 = (name: string, spec: Obj) => resource(v1beta1, 'BGPPeer', name, spec);

const peerDefaults = { peerPort: 179, disableMP: false, dualStackAddressFamily: false };
const basePeer = { myASN: 64500, peerASN: 64501, peerAddress: '172.30.0.3' };
const selector = { matchLabels: { 'kubernetes.io/hostname': 'node-a' } };
const expression = { matchExpressions: [{ key: 'rack', operator: 'In', values: ['r1', 'r2'] }] };

/** A BGPPeer spec with every field set: accepted as written, nothing defaulted. */
const everyPeerField = {
  myASN: 64500,
  peerASN: 4200000000,
  localASN: 64600,
  peerAddress: '2001:db8::1',
  sourceAddress: '2001:db8::2',
  peerPort: 1179,
  holdTime: '1m30s',
  keepaliveTime: '30s',
  connectTime: '10s',
  routerID: '10.10.10.10',
  nodeSelectors: [selector, expression],
  password: 'sekrit',
  bfdProfile: 'full',
  enableGracefulRestart: true,
  ebgpMultiHop: true,
  vrf: 'red',
  disableMP: true,
  dualStackAddressFamily: true,
};

/** [what, resource, its spec as the API server returns it (undefined: no spec)]. */
const validCases: Array<[string, Obj, Obj | undefined]> = [
  [
    'IPAddressPool: CIDRs and ranges of both families, defaults',
    pool('first-pool', {
      addresses: ['192.168.10.0/24', '192.168.9.1-192.168.9.5', 'fc00:f853:0ccd:e799::/124'],
    }),
    {
      addresses: ['192.168.10.0/24', '192.168.9.1-192.168.9.5', 'fc00:f853:0ccd:e799::/124'],
      autoAssign: true,
      avoidBuggyIPs: false,
    },
  ],
  [
    'IPAddressPool: host bits, spaces around the dash, an IPv6 range, a one-address range',
    pool('odd-pool', {
      addresses: ['10.20.30.40/24', '10.0.1.5 - 10.0.1.9', '2001:db8::10-2001:db8::20', '10.0.2.7-10.0.2.7'],
    }),
    {
      addresses: ['10.20.30.40/24', '10.0.1.5 - 10.0.1.9', '2001:db8::10-2001:db8::20', '10.0.2.7-10.0.2.7'],
      autoAssign: true,
      avoidBuggyIPs: false,
    },
  ],
  [
    'IPAddressPool: autoAssign false, avoidBuggyIPs true',
    pool('expensive', { addresses: ['42.176.25.64/30'], autoAssign: false, avoidBuggyIPs: true }),
    { addresses: ['42.176.25.64/30'], autoAssign: false, avoidBuggyIPs: true },
  ],
  [
    'IPAddressPool: serviceAllocation (priority, namespaces, namespaceSelectors, serviceSelectors)',
    pool('ns-pool', {
      addresses: ['192.168.20.0/24'],
      serviceAllocation: {
        priority: 50,
        namespaces: ['namespace-a', 'namespace-b'],
        namespaceSelectors: [{ matchLabels: { foo: 'bar' } }],
        serviceSelectors: [
          { matchExpressions: [{ key: 'serviceKey', operator: 'In', values: ['serviceValue'] }] },
        ],
      },
    }),
    {
      addresses: ['192.168.20.0/24'],
      autoAssign: true,
      avoidBuggyIPs: false,
      serviceAllocation: {
        priority: 50,
        namespaces: ['namespace-a', 'namespace-b'],
        namespaceSelectors: [{ matchLabels: { foo: 'bar' } }],
        serviceSelectors: [
          { matchExpressions: [{ key: 'serviceKey', operator: 'In', values: ['serviceValue'] }] },
        ],
      },
    },
  ],
  ['L2Advertisement: no spec announces every pool', l2('example'), undefined],
  [
    'L2Advertisement: every field',
    l2('l2-all', {
      ipAddressPools: ['first-pool'],
      ipAddressPoolSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }],
      nodeSelectors: [selector],
      interfaces: ['eth3', 'eth4'],
      serviceSelectors: [{ matchLabels: { app: 'web' } }],
      preferredNodeSelectors: [{ weight: 50, preference: expression }],
    }),
    {
      ipAddressPools: ['first-pool'],
      ipAddressPoolSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }],
      nodeSelectors: [selector],
      interfaces: ['eth3', 'eth4'],
      serviceSelectors: [{ matchLabels: { app: 'web' } }],
      preferredNodeSelectors: [{ weight: 50, preference: expression }],
    },
  ],
  [
    'BGPAdvertisement: defaults',
    bgpAdv('plain', { ipAddressPools: ['first-pool'] }),
    { ipAddressPools: ['first-pool'], aggregationLength: 32, aggregationLengthV6: 128 },
  ],
  [
    'BGPAdvertisement: every field (communities by value, large and by alias name)',
    bgpAdv('external', {
      aggregationLength: 24,
      aggregationLengthV6: 64,
      localPref: 100,
      communities: ['65535:65282', 'large:64512:1:4294967295', 'no-advertise', '0:0'],
      ipAddressPools: ['first-pool'],
      ipAddressPoolSelectors: [{ matchLabels: { exposed: 'true' } }],
      nodeSelectors: [selector],
      peers: ['peer1'],
    }),
    {
      aggregationLength: 24,
      aggregationLengthV6: 64,
      localPref: 100,
      communities: ['65535:65282', 'large:64512:1:4294967295', 'no-advertise', '0:0'],
      ipAddressPools: ['first-pool'],
      ipAddressPoolSelectors: [{ matchLabels: { exposed: 'true' } }],
      nodeSelectors: [selector],
      peers: ['peer1'],
    },
  ],
  [
    'BGPAdvertisement: serviceSelectors with the default aggregation',
    bgpAdv('per-service', { serviceSelectors: [{ matchLabels: { app: 'web' } }], aggregationLength: 32 }),
    { serviceSelectors: [{ matchLabels: { app: 'web' } }], aggregationLength: 32, aggregationLengthV6: 128 },
  ],
  [
    'Community: standard and large aliases',
    community('communities', {
      communities: [
        { name: 'no-advertise', value: '65535:65282' },
        { name: 'big', value: 'large:64512:1:2' },
      ],
    }),
    {
      communities: [
        { name: 'no-advertise', value: '65535:65282' },
        { name: 'big', value: 'large:64512:1:2' },
      ],
    },
  ],
  [
    'BFDProfile: every field',
    bfd('full', {
      receiveInterval: 380,
      transmitInterval: 270,
      detectMultiplier: 37,
      echoInterval: 62,
      echoMode: true,
      passiveMode: true,
      minimumTtl: 254,
    }),
    {
      receiveInterval: 380,
      transmitInterval: 270,
      detectMultiplier: 37,
      echoInterval: 62,
      echoMode: true,
      passiveMode: true,
      minimumTtl: 254,
    },
  ],
  ['BFDProfile: no timers (the BFD defaults apply)', bfd('defaults', {}), {}],
  ['BGPPeer: the minimal peer, defaults', peer('peer1', basePeer), { ...basePeer, ...peerDefaults }],
  ['BGPPeer: every field', peer('peer-all', everyPeerField), everyPeerField],
  [
    'BGPPeer: dynamicASN over an unnumbered interface',
    peer('unnumbered', { myASN: 64500, dynamicASN: 'external', interface: 'eth1' }),
    { myASN: 64500, dynamicASN: 'external', interface: 'eth1', ...peerDefaults },
  ],
  [
    'BGPPeer: passwordSecret, hold time 0 (no keepalives)',
    peer('secret', { ...basePeer, passwordSecret: { name: 'bgp-pass', namespace }, holdTime: '0s' }),
    { ...basePeer, passwordSecret: { name: 'bgp-pass', namespace }, holdTime: '0s', ...peerDefaults },
  ],
  [
    'BGPPeer: keepaliveTime alone (hold time 3 x keepalive)',
    peer('keepalive-only', { ...basePeer, keepaliveTime: '1s' }),
    { ...basePeer, keepaliveTime: '1s', ...peerDefaults },
  ],
];

/** [what, resource, the field path in the error, the value the error names]. */
const invalidCases: Array<[string, Obj, string, string]> = [
  ['a bare address is not a CIDR', pool('p', { addresses: ['10.0.0.1'] }), 'spec.addresses[0]', '"10.0.0.1"'],
  [
    'prefix length 33',
    pool('p', { addresses: ['10.0.0.0/24', '10.0.0.0/33'] }),
    'spec.addresses[1]',
    '"10.0.0.0/33"',
  ],
  ['not an address at all', pool('p', { addresses: ['pool-a'] }), 'spec.addresses[0]', '"pool-a"'],
  ['a range without its end', pool('p', { addresses: ['10.0.0.1-'] }), 'spec.addresses[0]', '"10.0.0.1-"'],
  [
    'a range with a CIDR end',
    pool('p', { addresses: ['10.0.0.1-10.0.0.0/24'] }),
    'spec.addresses[0]',
    '"10.0.0.1-10.0.0.0/24"',
  ],
  [
    'an inverted IPv4 range',
    pool('p', { addresses: ['10.0.0.9-10.0.0.5'] }),
    'spec.addresses[0]',
    'starts after it ends',
  ],
  [
    'a range across families',
    pool('p', { addresses: ['10.0.0.1-fd00::1'] }),
    'spec.addresses[0]',
    '"10.0.0.1-fd00::1"',
  ],
  [
    'a pool without addresses',
    pool('p', { addresses: [] }),
    'spec.addresses',
    'should have at least 1 items',
  ],
  ['a pool without the addresses field', pool('p', { autoAssign: true }), 'spec.addresses', 'Required value'],
  [
    'a namespace listed twice',
    pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } }),
    'spec.serviceAllocation.namespaces[1]',
    '"a"',
  ],
  [
    'an unknown selector operator',
    pool('p', {
      addresses: ['10.0.0.0/24'],
      serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Equals' }] }] },
    }),
    'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator',
    '"Equals"',
  ],
  [
    'preferred node weight 0',
    l2('l', { preferredNodeSelectors: [{ weight: 0, preference: {} }] }),
    'spec.preferredNodeSelectors[0].weight',
    '0',
  ],
  [
    'preferred node weight 101',
    l2('l', { preferredNodeSelectors: [{ weight: 101, preference: {} }] }),
    'spec.preferredNodeSelectors[0].weight',
    '101',
  ],
  ['aggregationLength 33', bgpAdv('a', { aggregationLength: 33 }), 'spec.aggregationLength', '33'],
  ['aggregationLength 0', bgpAdv('a', { aggregationLength: 0 }), 'spec.aggregationLength', '0'],
  ['aggregationLengthV6 129', bgpAdv('a', { aggregationLengthV6: 129 }), 'spec.aggregationLengthV6', '129'],
  ['negative localPref', bgpAdv('a', { localPref: -1 }), 'spec.localPref', '-1'],
  ['localPref above 2^32-1', bgpAdv('a', { localPref: 4294967296 }), 'spec.localPref', '4294967296'],
  [
    'a community part above 65535',
    bgpAdv('a', { communities: ['65536:1'] }),
    'spec.communities[0]',
    '"65536:1"',
  ],
  [
    'a community that is not numbers',
    bgpAdv('a', { communities: ['no:export'] }),
    'spec.communities[0]',
    '"no:export"',
  ],
  [
    'a large community without its marker',
    bgpAdv('a', { communities: ['big:1:2:3'] }),
    'spec.communities[0]',
    '"big:1:2:3"',
  ],
  [
    'a large community part above 2^32-1',
    bgpAdv('a', { communities: ['large:1:2:4294967296'] }),
    'spec.communities[0]',
    '"large:1:2:4294967296"',
  ],
  [
    'serviceSelectors with aggregation',
    bgpAdv('a', { serviceSelectors: [{ matchLabels: { app: 'web' } }], aggregationLengthV6: 64 }),
    'spec.serviceSelectors',
    'aggregationLengthV6 64',
  ],
  [
    'a Community value of three parts',
    community('c', { communities: [{ name: 'x', value: '1:2:3' }] }),
    'spec.communities[0].value',
    '"1:2:3"',
  ],
  [
    'a Community value above 65535',
    community('c', { communities: [{ name: 'x', value: '1:65536' }] }),
    'spec.communities[0].value',
    '"1:65536"',
  ],
  [
    'a Community alias defined twice',
    community('c', {
      communities: [
        { name: 'x', value: '1:2' },
        { name: 'x', value: '3:4' },
      ],
    }),
    'spec.communities[1]',
    'Duplicate value: {"name":"x"}',
  ],
  [
    'a Community alias without a value',
    community('c', { communities: [{ name: 'x' }] }),
    'spec.communities[0].value',
    'Required value',
  ],
  ['BFD receiveInterval 9', bfd('b', { receiveInterval: 9 }), 'spec.receiveInterval', '9'],
  ['BFD transmitInterval 60001', bfd('b', { transmitInterval: 60001 }), 'spec.transmitInterval', '60001'],
  ['BFD echoInterval 5', bfd('b', { echoInterval: 5 }), 'spec.echoInterval', '5'],
  ['BFD detectMultiplier 1', bfd('b', { detectMultiplier: 1 }), 'spec.detectMultiplier', '1'],
  ['BFD detectMultiplier 256', bfd('b', { detectMultiplier: 256 }), 'spec.detectMultiplier', '256'],
  ['BFD minimumTtl 255', bfd('b', { minimumTtl: 255 }), 'spec.minimumTtl', '255'],
  ['myASN 0 (missing local ASN)', peer('p', { ...basePeer, myASN: 0 }), 'spec.myASN', '0'],
  ['myASN above 2^32-1', peer('p', { ...basePeer, myASN: 4294967296 }), 'spec.myASN', '4294967296'],
  ['peerASN above 2^32-1', peer('p', { ...basePeer, peerASN: 4294967296 }), 'spec.peerASN', '4294967296'],
  ['localASN 0', peer('p', { ...basePeer, localASN: 0 }), 'spec.localASN', '0'],
  [
    'peerASN and dynamicASN',
    peer('p', { ...basePeer, dynamicASN: 'external' }),
    'spec.peerASN',
    'peerASN 64501 and dynamicASN external',
  ],
  [
    'neither peerASN nor dynamicASN',
    peer('p', { myASN: 64500, peerAddress: '172.30.0.3' }),
    'spec.peerASN',
    'one of peerASN and dynamicASN',
  ],
  [
    'dynamicASN "both"',
    peer('p', { myASN: 64500, dynamicASN: 'both', peerAddress: '172.30.0.3' }),
    'spec.dynamicASN',
    '"both"',
  ],
  [
    'peerAddress and interface',
    peer('p', { ...basePeer, interface: 'eth0' }),
    'spec.peerAddress',
    'peerAddress 172.30.0.3 and interface eth0',
  ],
  [
    'neither peerAddress nor interface',
    peer('p', { myASN: 64500, peerASN: 64501 }),
    'spec.peerAddress',
    'one of peerAddress and interface',
  ],
  [
    'peerAddress 10.0.0.300',
    peer('p', { ...basePeer, peerAddress: '10.0.0.300' }),
    'spec.peerAddress',
    '"10.0.0.300"',
  ],
  [
    'sourceAddress a name',
    peer('p', { ...basePeer, sourceAddress: 'node-a' }),
    'spec.sourceAddress',
    '"node-a"',
  ],
  ['routerID a number', peer('p', { ...basePeer, routerID: '12345' }), 'spec.routerID', '"12345"'],
  ['peerPort 0', peer('p', { ...basePeer, peerPort: 0 }), 'spec.peerPort', '0'],
  ['peerPort 16385', peer('p', { ...basePeer, peerPort: 16385 }), 'spec.peerPort', '16385'],
  ['holdTime 2s', peer('p', { ...basePeer, holdTime: '2s' }), 'spec.holdTime', '"2s"'],
  [
    'holdTime 2999ms (2s once truncated)',
    peer('p', { ...basePeer, holdTime: '2999ms' }),
    'spec.holdTime',
    '"2999ms"',
  ],
  ['holdTime without a unit', peer('p', { ...basePeer, holdTime: '90' }), 'spec.holdTime', '"90"'],
  [
    'keepaliveTime longer than holdTime',
    peer('p', { ...basePeer, holdTime: '9s', keepaliveTime: '10s' }),
    'spec.keepaliveTime',
    'keepaliveTime 10s is longer than holdTime 9s',
  ],
  [
    'keepaliveTime alone making hold shorter than 3s',
    peer('p', { ...basePeer, keepaliveTime: '900ms' }),
    'spec.keepaliveTime',
    'keepaliveTime 900ms',
  ],
  [
    'keepaliveTime not a duration',
    peer('p', { ...basePeer, keepaliveTime: 'soon' }),
    'spec.keepaliveTime',
    '"soon"',
  ],
  ['connectTime 0s', peer('p', { ...basePeer, connectTime: '0s' }), 'spec.connectTime', '"0s"'],
  ['connectTime 65536s', peer('p', { ...basePeer, connectTime: '65536s' }), 'spec.connectTime', '"65536s"'],
  ['connectTime 1500ms', peer('p', { ...basePeer, connectTime: '1500ms' }), 'spec.connectTime', '"1500ms"'],
  [
    'password and passwordSecret',
    peer('p', { ...basePeer, password: 'sekrit', passwordSecret: { name: 'bgp-pass' } }),
    'spec.passwordSecret',
    'passwordSecret (bgp-pass)',
  ],
  [
    'ebgpMultiHop on an iBGP peer',
    peer('p', { ...basePeer, peerASN: 64500, ebgpMultiHop: true }),
    'spec.ebgpMultiHop',
    'peerASN 64500 equals myASN 64500',
  ],
  [
    'v1beta1 without peerAddress',
    peerV1('p', { myASN: 64500, peerASN: 64501 }),
    'spec.peerAddress',
    'Required value',
  ],
  ['v1beta1 holdTime 1s', peerV1('p', { ...basePeer, holdTime: '1s' }), 'spec.holdTime', '"1s"'],
];

/** Invalid cases that only a CEL rule refuses (the development server evaluates none). */
const celOnlyCases = new Set<string>([
  "a bare address is not a CIDR",
  "prefix length 33",
  "not an address at all",
  "a range without its end",
  "a range with a CIDR end",
  "an inverted IPv4 range",
  "a range across families",
  "a community part above 65535",
  "a community that is not numbers",
  "a large community without its marker",
  "a large community part above 2^32-1",
  "serviceSelectors with aggregation",
  "a Community value of three parts",
  "a Community value above 65535",
  "peerASN and dynamicASN",
  "neither peerASN nor dynamicASN",
  "peerAddress and interface",
  "neither peerAddress nor interface",
  "peerAddress 10.0.0.300",
  "sourceAddress a name",
  "routerID a number",
  "holdTime 2s",
  "holdTime 2999ms (2s once truncated)",
  "holdTime without a unit",
  "keepaliveTime longer than holdTime",
  "keepaliveTime alone making hold shorter than 3s",
  "keepaliveTime not a duration",
  "connectTime 0s",
  "connectTime 65536s",
  "connectTime 1500ms",
  "password and passwordSecret",
  "ebgpMultiHop on an iBGP peer",
  "v1beta1 holdTime 1s",
]);

describe.each(API_SERVERS)('manifests/crds on the %s API server', (kind) => {
  const development = kind === 'development';
  let server: KubeApiServer | DevApiServer;
  let kubectlBinary: string;
  let kubeconfig: string;
  const kubectl = (args: string[], input?: string) => kubectlWith(kubectlBinary, kubeconfig, args, input);
  const json = (o: Obj) => JSON.stringify(o);
  /** Standard error without the development server's note that it skipped the CEL rules. */
  const quiet = (stderr: string) =>
    development ? stderr.replace(/^Warning: the development API server does not evaluate .*\n/gm, '') : stderr;

  beforeAll(async () => {
    kubeconfig = join(tmpdir(), `crds-${kind}-${process.pid}.kubeconfig`);
    if (development) {
      server = await startDevApiServer();
      kubectlBinary = (await ensureBinaries()).kubectl;
    } else {
      const real = await startKubeApiServer({ watchCache: false });
      server = real;
      kubectlBinary = real.binaries.kubectl;
    }
    writeFileSync(kubeconfig, server.kubeconfig());
    await kubectl(['create', 'namespace', namespace]);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(kubeconfig, { force: true });
  });

  it('kubectl apply --server-side -k manifests/crds installs nine CRDs, all Established', async () => {
    const applied = await kubectl(['apply', '--server-side', '-k', 'manifests/crds']);
    expect(quiet(applied.stderr)).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toHaveLength(9);
    const crds = [
      'ipaddresspools',
      'l2advertisements',
      'bgpadvertisements',
      'communities',
      'bfdprofiles',
      'bgppeers',
      'configurationstates',
      'servicel2statuses',
      'servicebgpstatuses',
    ];
    const waited = await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      ...crds.map((c) => `crd/${c}.metallb.io`),
    ]);
    expect(waited.code, waited.stderr).toBe(0);
    const resources = await kubectl(['api-resources', '--api-group=metallb.io', '-o', 'name']);
    expect(resources.stdout.trim().split('\n').sort()).toEqual([
      'bfdprofiles.metallb.io',
      'bgpadvertisements.metallb.io',
      'bgppeers.metallb.io',
      'communities.metallb.io',
      'configurationstates.metallb.io',
      'ipaddresspools.metallb.io',
      'l2advertisements.metallb.io',
      'servicebgpstatuses.metallb.io',
      'servicel2statuses.metallb.io',
    ]);
  });

  it.each(validCases)('accepts %s', async (_what, object, expected) => {
    const created = await kubectl(['create', '-o', 'json', '-f', '-'], json(object));
    expect(quiet(created.stderr)).toBe('');
    expect(created.code).toBe(0);
    expect((JSON.parse(created.stdout) as Obj).spec).toEqual(expected);
  });

  // The development server checks the OpenAPI schema but evaluates no CEL rule: what only a CEL
  // rule refuses, it accepts, and says that it did not check the rules. The list is exact: a case
  // in it that the development server refuses (or one out of it that it accepts) fails.
  const schemaCases = invalidCases.filter(([what]) => !development || !celOnlyCases.has(what));
  const celCases = development ? invalidCases.filter(([what]) => celOnlyCases.has(what)) : [];

  if (development) {
    it('knows which refusals need CEL', () => {
      expect(celCases.length).toBe(celOnlyCases.size);
      expect(schemaCases.length).toBeGreaterThan(0);
    });
    it.each(celCases)('accepts, CEL rules unchecked: %s', async (_what, object) => {
      const created = await kubectl(['create', '--dry-run=server', '-f', '-'], json(object));
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toContain('does not evaluate x-kubernetes-validations (CEL)');
    });
  }

  it.each(schemaCases)('refuses %s', async (_what, object, field, value) => {
    const created = await kubectl(['create', '--dry-run=server', '-f', '-'], json(object));
    expect(created.code).toBe(1);
    expect(created.stderr).toContain(
      `${String(object.kind)} "${(object.metadata as Obj).name as string}" is invalid`,
    );
    expect(created.stderr).toContain(`${field}: `);
    expect(created.stderr).toContain(value);
    // One rule broken, one error reported (a second would mean the case is not isolated). When
    // the OpenAPI schema fails, the API server adds a note that it skipped the CEL rules: not an error.
    const errors = created.stderr
      .split('\n')
      .filter((l) => /: (Invalid|Required|Unsupported|Duplicate) value/.test(l))
      .filter((l) => !l.includes('some validation rules were not checked'));
    expect(errors, created.stderr).toHaveLength(1);
  });

  it('accepts the examples of docs/configuration.md (its `yaml metallb` blocks)', async () => {
    const blocks = [
      ...readFileSync(join(root, 'docs/configuration.md'), 'utf8').matchAll(
        /```yaml metallb\n([\s\S]*?)```/g,
      ),
    ];
    expect(blocks.length).toBeGreaterThan(0);
    await kubectl(['create', 'namespace', 'portico-system']);
    for (const [, block] of blocks) {
      const applied = await kubectl(['apply', '--server-side', '-f', '-'], block);
      expect(quiet(applied.stderr)).toBe('');
      expect(applied.code).toBe(0);
    }
  });

  it('never echoes a BGP password in an error', async () => {
    const object = peer('p', {
      ...basePeer,
      password: 'do-not-print-me',
      passwordSecret: { name: 'bgp-pass' },
    });
    const created = await kubectl(['create', '--dry-run=server', '-f', '-'], json(object));
    // Both set is refused by a CEL rule, which the development server does not evaluate.
    expect(created.code).toBe(development ? 0 : 1);
    expect(created.stderr).not.toContain('do-not-print-me');
  });

  it('serves v1beta1 BGPPeers (deprecated) and reads them back as v1beta2 with v1beta2 defaults', async () => {
    const object = peerV1('old-peer', {
      ...basePeer,
      holdTime: '90s',
      ebgpMultiHop: true,
      nodeSelectors: [expression],
    });
    const created = await kubectl(['create', '-f', '-'], json(object));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('metallb.io/v1beta1 BGPPeer is deprecated, use metallb.io/v1beta2');
    const read = await kubectl([
      'get',
      'bgppeers.v1beta2.metallb.io',
      'old-peer',
      '-n',
      namespace,
      '-o',
      'json',
    ]);
    const stored = JSON.parse(read.stdout) as Obj;
    expect(stored.apiVersion).toBe(v1beta2);
    expect(stored.spec).toEqual({
      ...basePeer,
      holdTime: '90s',
      ebgpMultiHop: true,
      nodeSelectors: [expression],
      ...peerDefaults,
    });
  });

  it('refuses to change enableGracefulRestart once the peer exists', async () => {
    const object = peer('graceful', { ...basePeer, enableGracefulRestart: true });
    expect((await kubectl(['create', '-f', '-'], json(object))).code).toBe(0);
    const patched = await kubectl([
      'patch',
      'bgppeer',
      'graceful',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      json({ spec: { enableGracefulRestart: false } }),
    ]);
    if (development) {
      // A CEL transition rule: not evaluated by the development server.
      expect(patched.code, patched.stderr).toBe(0);
      expect(patched.stderr).toContain('does not evaluate x-kubernetes-validations (CEL)');
    } else {
      expect(patched.code).toBe(1);
      expect(patched.stderr).toContain('spec.enableGracefulRestart');
      expect(patched.stderr).toContain('enableGracefulRestart cannot be changed after creation');
    }
    const other = await kubectl([
      'patch',
      'bgppeer',
      'graceful',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      json({ spec: { holdTime: '30s' } }),
    ]);
    expect(other.code, other.stderr).toBe(0);
  });

  it('keeps IPAddressPool status in a status subresource with the four MetalLB 0.15 counters', async () => {
    const object = pool('status-pool', { addresses: ['192.0.2.0/30', 'fd00::/126'] });
    expect((await kubectl(['create', '-f', '-'], json(object))).code).toBe(0);
    const status = { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 4 };
    const written = await kubectl([
      'patch',
      'ipaddresspool',
      'status-pool',
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      json({ status }),
    ]);
    expect(written.code, written.stderr).toBe(0);
    // A write to the main resource does not touch status, and a status write does not touch spec.
    const specWrite = await kubectl([
      'patch',
      'ipaddresspool',
      'status-pool',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      json({ spec: { autoAssign: false }, status: { assignedIPv4: 99 } }),
    ]);
    expect(specWrite.code, specWrite.stderr).toBe(0);
    const read = JSON.parse(
      (await kubectl(['get', 'ipaddresspool', 'status-pool', '-n', namespace, '-o', 'json'])).stdout,
    ) as Obj;
    expect(read.status).toEqual(status);
    expect((read.spec as Obj).autoAssign).toBe(false);
    const bad = await kubectl([
      'patch',
      'ipaddresspool',
      'status-pool',
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      json({ status: { availableIPv4: 'many' } }),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('status.availableIPv4');
  });

  it('keeps ServiceL2Status and ServiceBGPStatus in a status subresource, with MetalLB’s fields and columns', async () => {
    const objects: Array<[string, string, Obj]> = [
      [
        'ServiceL2Status',
        'servicel2statuses',
        { node: 'node-a', serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth1' }] },
      ],
      [
        'ServiceBGPStatus',
        'servicebgpstatuses',
        { node: 'node-a', serviceName: 'web', serviceNamespace: 'default', peers: ['r1', 'r2'] },
      ],
    ];
    for (const [kindName, plural, status] of objects) {
      const object = {
        apiVersion: v1beta1,
        kind: kindName,
        metadata: { name: 'web-a', namespace, labels: { 'metallb.io/node': 'node-a' } },
        spec: {},
      };
      expect((await kubectl(['create', '-f', '-'], json(object))).code).toBe(0);
      const patch = (body: Obj) =>
        kubectl(['patch', plural, 'web-a', '-n', namespace, '--subresource=status', '--type=merge', '-p', json(body)]);
      const written = await patch({ status });
      expect(written.code, written.stderr).toBe(0);
      const read = JSON.parse((await kubectl(['get', plural, 'web-a', '-n', namespace, '-o', 'json'])).stdout) as Obj;
      expect(read.status).toEqual(status);
      const list = kindName === 'ServiceL2Status' ? { interfaces: ['eth1'] } : { peers: [{ name: 'r1' }] };
      const bad = await patch({ status: list });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(kindName === 'ServiceL2Status' ? 'status.interfaces' : 'status.peers');
      // MetalLB's rule: an object describes one node's announcement of one Service for its life.
      const moved = await patch({ status: { node: 'node-b' } });
      if (development) expect(moved.code).toBe(0);
      else {
        expect(moved.code).toBe(1);
        expect(moved.stderr).toContain('Value is immutable');
      }
      const got = await kubectl(['get', plural, '-n', namespace, '-l', 'metallb.io/node=node-a']);
      expect(got.stdout.split('\n')[0]?.split(/\s{2,}/)).toEqual([
        'NAME',
        kindName === 'ServiceL2Status' ? 'ALLOCATED NODE' : 'NODE',
        'SERVICE NAME',
        'SERVICE NAMESPACE',
      ]);
    }
  });

  it("prints MetalLB's columns in kubectl get, then Portico's counts", async () => {
    const got = await kubectl(['get', 'ipaddresspools', '-n', namespace, 'expensive']);
    expect(got.stdout.split('\n')[0]?.split(/\s{2,}/)).toEqual([
      'NAME',
      'AUTO ASSIGN',
      'AVOID BUGGY IPS',
      'ADDRESSES',
      'ASSIGNED IPV4',
      'AVAILABLE IPV4',
      'ASSIGNED IPV6',
      'AVAILABLE IPV6',
    ]);
    // No controller writes this pool's status here: the count columns are empty.
    expect(got.stdout).toMatch(/expensive\s+false\s+true\s+\["42\.176\.25\.64\/30"\]\s*$/m);
  });

  // portico config convert, end to end: the ConfigMaps the config tests use (every example of
  // docs/configuration.md, the base and BGP overlay ConfigMaps) and one using every v0.12 key,
  // converted by the real CLI and applied with kubectl: every resource must be accepted as written.
  describe('portico config convert output', () => {
    const read = (path: string) => readFileSync(join(root, path), 'utf8');
    const everyKey = `peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 192.0.2.1, peer-port: 1179, source-address: 192.0.2.10,
   hold-time: 1m30s, keepalive-time: 30s, router-id: 10.0.0.1, password: sekrit, bfd-profile: Fast_BFD,
   ebgp-multihop: true, node-selectors: [{match-labels: {rack: r1},
   match-expressions: [{key: kubernetes.io/hostname, operator: In, values: [node-a]}, {key: spot, operator: DoesNotExist}]}]}
- {my-asn: 64500, peer-asn: 64500, peer-address: '2001:db8::1', hold-time: 0s}
bfd-profiles:
- {name: Fast_BFD, receive-interval: 380, transmit-interval: 270, detect-multiplier: 37, echo-interval: 62,
   echo-mode: true, passive-mode: true, minimum-ttl: 254}
- {name: slow}
bgp-communities: {no-advertise: '65535:65282', tagged: '64500:7'}
address-pools:
- {name: Public_IPs, protocol: bgp, addresses: [203.0.113.0/24, '2001:db8:1::/64'], avoid-buggy-ips: true,
   bgp-advertisements: [{aggregation-length: 24, aggregation-length-v6: 64, localpref: 100,
   communities: [no-advertise, '64500:8']}, {communities: [tagged]}]}
- {name: lan, protocol: layer2, addresses: [10.0.0.10-10.0.0.20, 'fd00::10-fd00::20', '::ffff:10.0.0.30-::ffff:10.0.0.40', '::fffe:0:0/96'],
   auto-assign: false}
`;
    const inputs: Array<[string, string]> = [
      ...[...read('docs/configuration.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
        (m, i): [string, string] => [`docs/configuration.md YAML block ${i}`, m[1] as string],
      ),
      ['manifests/base/config.yaml', read('manifests/base/config.yaml')],
      ['manifests/overlays/bgp/config.yaml', read('manifests/overlays/bgp/config.yaml')],
      ['a configuration using every key', everyKey],
    ];
    let dir: string;

    beforeAll(async () => {
      // The command runs from the built CLI, as users run it.
      const build = await runProcess('npx', ['tsc', '-b', 'packages/cli']);
      if (build.code !== 0)
        throw new Error(`npx tsc -b packages/cli failed:\n${build.stdout}${build.stderr}`);
      dir = mkdtempSync(join(tmpdir(), 'portico-convert-'));
      expect((await kubectl(['apply', '--server-side', '-k', 'manifests/crds'])).code).toBe(0);
    }, 300_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('has inputs from the config tests', () => {
      expect(inputs.length).toBeGreaterThanOrEqual(9);
    });

    it.each(inputs.map(([what, text], i): [string, string, number] => [what, text, i]))(
      'converts %s and the API server accepts every resource',
      async (_what, text, i) => {
        const ns = `convert-${i}`;
        expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
        const file = join(dir, `input-${i}.yaml`);
        writeFileSync(file, text);
        const converted = await portico(['config', 'convert', file, '--namespace', ns]);
        expect(converted.code, converted.stderr).toBe(0);
        const resources = parseAllDocuments(converted.stdout).map((d) => d.toJS() as Obj);
        expect(resources.length).toBeGreaterThan(0);
        const applied = await kubectl(['apply', '--server-side', '-f', '-'], converted.stdout);
        expect(quiet(applied.stderr)).toBe('');
        expect(applied.code).toBe(0);
        expect(applied.stdout.trim().split('\n')).toHaveLength(resources.length);
        // Read back: every field as converted (the API server may only add defaults).
        for (const r of resources) {
          const got = await kubectl(['get', '-o', 'json', '-f', '-'], JSON.stringify(r));
          expect(got.code, got.stderr).toBe(0);
          // kubectl get -f answers with a List, even for one object.
          const [stored] = (JSON.parse(got.stdout) as { items: Obj[] }).items;
          expect(stored?.spec).toMatchObject(r.spec as Obj);
        }
      },
    );

    it('says on stderr which names it changed', async () => {
      const file = join(dir, 'every-key.yaml');
      writeFileSync(file, everyKey);
      const converted = await portico(['config', 'convert', file]);
      expect(converted.code).toBe(0);
      expect(converted.stderr).toContain('BFDProfile name changed from "Fast_BFD" to "fast-bfd"');
      expect(converted.stderr).toContain('IPAddressPool name changed from "Public_IPs" to "public-ips"');
      expect(converted.stdout).toContain('namespace: portico-system');
    });

    it.each<[string, string[], string | undefined, number, string]>([
      [
        'an invalid configuration',
        ['config', 'convert'],
        'address-pools:\n- name: x\n  addresses: [10.0.0.1]\n',
        1,
        'address pool',
      ],
      [
        'a name it cannot convert',
        ['config', 'convert'],
        'address-pools:\n- {name: "2024", protocol: layer2, addresses: [10.0.0.0/24]}\n',
        1,
        'address pool "2024"',
      ],
      ['no FILE', ['config', 'convert'], undefined, 2, 'missing FILE'],
      [
        'a bad namespace',
        ['config', 'convert', '--namespace', 'Bad_NS'],
        '{}',
        2,
        '--namespace: "Bad_NS" is not a namespace name',
      ],
      ['an unknown option', ['config', 'convert', '--yaml'], '{}', 2, 'unknown option --yaml'],
    ])('exits like config check on %s', async (_what, args, text, code, message) => {
      const extra: string[] = [];
      if (text !== undefined) {
        const file = join(dir, `bad-${code}-${args.length}.yaml`);
        writeFileSync(file, text);
        extra.push(file);
      }
      const result = await portico([...args, ...extra]);
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    });
  });
});

