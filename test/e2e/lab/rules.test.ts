/**
 * The lab's pure parts, no root needed: the kube-proxy stand-in's forwarding rules (Local vs
 * Cluster, readiness, port names) and the address plan (a valid MetalLB ConfigMap, names that fit
 * in an interface name, ranges that do not overlap).
 */
import { parseConfig, poolProtocols } from '@portico/config';
import { describe, expect, it } from 'vitest';
import { NODES, PREFIX, poolConfig, POOLS, podIp } from '../../../packages/cli/src/lab/plan.js';
import {
  forwardingRules,
  type EndpointSlice,
  type Service,
} from '../../../packages/cli/src/lab/proxy-rules.js';

const service = (
  name: string,
  policy: 'Local' | 'Cluster',
  ips: string[],
  type = 'LoadBalancer',
): Service => ({
  metadata: { namespace: 'default', name },
  spec: { type, externalTrafficPolicy: policy, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

const slice = (
  svc: string,
  endpoints: Array<[address: string, node: string, ready?: boolean]>,
  portName = 'http',
): EndpointSlice => ({
  metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  ports: [{ name: portName, port: 8080 }],
  endpoints: endpoints.map(([a, node, ready]) => ({
    addresses: [a],
    nodeName: node,
    conditions: ready === undefined ? {} : { ready },
  })),
});

const endpoints = slice('web', [
  ['192.0.2.129', 'plab-n1'],
  ['192.0.2.145', 'plab-n2', true],
  ['192.0.2.161', 'plab-n3', false],
]);

describe('kube-proxy stand-in rules', () => {
  it.each([
    ['Cluster', 'plab-n3', ['192.0.2.129:8080', '192.0.2.145:8080']],
    ['Local', 'plab-n1', ['192.0.2.129:8080']],
    ['Local', 'plab-n2', ['192.0.2.145:8080']],
    ['Local', 'plab-n3', []], // its only endpoint is not ready
  ] as const)('%s policy on %s forwards to %j', (policy, node, want) => {
    const rules = forwardingRules([service('web', policy, ['203.0.113.40'])], [endpoints], node);
    expect([...rules.keys()]).toEqual(['203.0.113.40:80']);
    expect(rules.get('203.0.113.40:80')!.targets).toEqual(want);
  });

  it('listens on every allocated IP, IPv6 in brackets', () => {
    const rules = forwardingRules(
      [service('web', 'Cluster', ['203.0.113.40', '2001:db8:203::100'])],
      [endpoints],
      'x',
    );
    expect([...rules.keys()].sort()).toEqual(['203.0.113.40:80', '[2001:db8:203::100]:80']);
    expect(rules.get('[2001:db8:203::100]:80')).toMatchObject({ ip: '2001:db8:203::100', port: 80 });
  });

  it('ignores other Service types, Services without IPs, other Services slices and other port names', () => {
    const rules = forwardingRules(
      [
        service('web', 'Cluster', ['203.0.113.40']),
        service('internal', 'Cluster', ['203.0.113.41'], 'ClusterIP'),
        service('pending', 'Cluster', []),
      ],
      [slice('other', [['192.0.2.130', 'plab-n1']]), slice('web', [['192.0.2.131', 'plab-n1']], 'metrics')],
      'plab-n1',
    );
    expect([...rules.keys()]).toEqual(['203.0.113.40:80']);
    expect(rules.get('203.0.113.40:80')!.targets).toEqual([]);
  });
});

describe('lab address plan', () => {
  it('the pools ConfigMap is valid MetalLB configuration with both pools and both router peers', () => {
    const parsed = parseConfig(poolConfig());
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const { pools, peers } = parsed.config;
    expect(pools.map((p) => [p.name, poolProtocols(p), p.autoAssign])).toEqual([
      [POOLS.layer2.name, ['layer2'], true],
      [POOLS.bgp.name, ['bgp'], false],
    ]);
    expect(peers.map((p) => [p.peerAddress, p.peerASN, p.myASN])).toEqual([
      ['203.0.113.1', 64500, 64501],
      ['2001:db8:203::1', 64500, 64501],
    ]);
  });

  it('interface names fit in 15 characters and carry the lab prefix', () => {
    for (const n of NODES) {
      expect(n.link.length).toBeLessThanOrEqual(15);
      expect(n.link.startsWith(`${PREFIX}-`)).toBe(true);
    }
  });

  it('pod addresses stay inside their node range and outside the pools', () => {
    const v4 = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const inCidr = (a: string, cidr: string) => {
      const [base, len] = cidr.split('/');
      const size = 2 ** (32 - Number(len));
      return v4(a) >= v4(base!) && v4(a) < v4(base!) + size;
    };
    for (const n of NODES)
      for (const i of [1, 14]) {
        const ip = podIp(n, i);
        expect(inCidr(ip, n.podCidr)).toBe(true);
        for (const pool of [POOLS.layer2, POOLS.bgp])
          for (const cidr of pool.addresses.filter((c) => !c.includes(':')))
            expect(inCidr(ip, cidr)).toBe(false);
      }
  });
});
