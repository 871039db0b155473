// The pure parts of a Gateway's address: the Service made for it, what spec.addresses asks for, and
// the conditions the addresses decide.
import { describe, expect, it } from 'vitest';
import {
  desiredGatewayService,
  desiredGatewaySlices,
  gatewayAddressing,
  gatewayServiceName,
  requestedAddresses,
  serviceMatches,
  updatedService,
  withAddressing,
  type Gateway,
  type GatewayStatus,
} from '../../src/gateway/index.js';

const gateway = (spec: Partial<NonNullable<Gateway['spec']>> = {}, annotations = {}): Gateway => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'u-1', annotations },
  spec: {
    gatewayClassName: 'portico',
    listeners: [
      { name: 'a', port: 443, protocol: 'HTTPS' },
      { name: 'b', port: 80, protocol: 'HTTP' },
      { name: 'c', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
    ],
    ...spec,
  },
});

const compiled = (reason: string): GatewayStatus => ({
  conditions: [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' },
    { type: 'Programmed', status: 'False', reason, message: '' },
  ],
});
const cond = (s: GatewayStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('the Service of a Gateway', () => {
  it('is named after the Gateway, a valid Service name even for long or dotted names', () => {
    expect(gatewayServiceName('web')).toBe('portico-gateway-web');
    const dotted = gatewayServiceName('a.b');
    expect(dotted).toMatch(/^portico-gateway-a-b-[0-9a-f]{8}$/);
    expect(dotted).not.toBe(gatewayServiceName('a-b'));
    const long = gatewayServiceName('x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('has one port per distinct listener port, the requested IPs, the copied annotations and labels', () => {
    const svc = desiredGatewayService(
      gateway(
        {
          addresses: [{ type: 'IPAddress', value: '192.0.2.7' }],
          infrastructure: { labels: { team: 'a' }, annotations: { note: 'b' } },
        },
        { 'metallb.io/address-pool': 'blue', unrelated: 'no' },
      ),
    )!;
    expect(svc.metadata?.namespace).toBe('shop');
    expect(svc.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([
      [80, 80],
      [443, 443],
    ]);
    expect(svc.spec?.selector).toBeUndefined();
    expect(svc.spec?.ipFamilies).toEqual(['IPv4']);
    expect(svc.metadata?.annotations).toEqual({
      note: 'b',
      'metallb.io/address-pool': 'blue',
      'metallb.io/loadBalancerIPs': '192.0.2.7',
    });
    expect(svc.metadata?.labels).toMatchObject({
      team: 'a',
      'gateway.networking.k8s.io/gateway-name': 'web',
    });
    expect(svc.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Gateway',
      uid: 'u-1',
      controller: true,
    });
  });

  it('asks for a dual-stack Service when IPs of both families are requested', () => {
    const svc = desiredGatewayService(
      gateway({ addresses: [{ value: '2001:db8::5' }, { type: 'IPAddress', value: '192.0.2.5' }] }),
    )!;
    expect(svc.spec?.ipFamilyPolicy).toBe('RequireDualStack');
    expect(svc.spec?.ipFamilies).toEqual(['IPv6', 'IPv4']);
  });

  it('is not made for an address type we do not support', () => {
    const g = gateway({ addresses: [{ type: 'Hostname', value: 'gw.example.com' }] });
    expect(desiredGatewayService(g)).toBeUndefined();
    expect(requestedAddresses(g).unsupported).toContain('spec.addresses[0]: type "Hostname"');
  });

  it('is updated only when it differs, keeping what others wrote and dropping annotations no longer asked for', () => {
    const want = desiredGatewayService(gateway({}, { 'metallb.io/address-pool': 'blue' }))!;
    const live = updatedService(
      {
        ...want,
        metadata: {
          ...want.metadata,
          resourceVersion: '7',
          annotations: { 'metallb.io/ip-allocated-from-pool': 'blue' },
        },
      },
      want,
    );
    expect(serviceMatches(live, want)).toBe(true);
    const without = desiredGatewayService(gateway())!;
    expect(serviceMatches(live, without)).toBe(false);
    const next = updatedService(live, without);
    expect(next.metadata?.resourceVersion).toBe('7');
    expect(next.metadata?.annotations?.['metallb.io/address-pool']).toBeUndefined();
    expect(next.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('blue');
    expect(serviceMatches(next, without)).toBe(true);
  });

  it('gets the ingress pods endpoints with the Gateway ports', () => {
    const svc = desiredGatewayService(gateway())!;
    const slices = desiredGatewaySlices(svc, [
      {
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'n1' }],
        ports: [{ port: 8080 }],
      },
    ]);
    expect(slices).toHaveLength(1);
    expect(slices[0]!.metadata?.labels?.['kubernetes.io/service-name']).toBe('portico-gateway-web');
    expect(slices[0]!.endpoints).toEqual([
      { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'n1' },
    ]);
    expect(slices[0]!.ports?.map((p) => p.port)).toEqual([80, 443]);
  });
});

describe('the addresses of a Gateway', () => {
  const assigned = (ip: string) => ({ status: { loadBalancer: { ingress: [{ ip }] } } });

  it('are its Service IPs and a static address; Programmed once there is one', () => {
    const a = gatewayAddressing(gateway(), {
      staticAddresses: ['198.51.100.1'],
      withService: true,
      service: assigned('192.0.2.1'),
    });
    expect(a.addresses).toEqual(['192.0.2.1', '198.51.100.1']);
    const s = withAddressing(compiled('AddressNotAssigned'), 3, a);
    expect(s.addresses).toEqual([
      { type: 'IPAddress', value: '192.0.2.1' },
      { type: 'IPAddress', value: '198.51.100.1' },
    ]);
    expect(cond(s, 'Programmed')).toMatchObject({
      status: 'True',
      reason: 'Programmed',
      observedGeneration: 3,
    });
  });

  it('wait for the Service: AddressNotAssigned', () => {
    const a = gatewayAddressing(gateway(), { staticAddresses: [], withService: true });
    expect(cond(withAddressing(compiled('AddressNotAssigned'), 1, a), 'Programmed')).toMatchObject({
      status: 'False',
      reason: 'AddressNotAssigned',
    });
  });

  it('a requested IP the controller refused: AddressNotUsable with its message', () => {
    const a = gatewayAddressing(gateway({ addresses: [{ value: '203.0.113.9' }] }), {
      staticAddresses: [],
      withService: true,
      service: { metadata: { name: 'portico-gateway-web' } },
      allocationError:
        'Failed to allocate IP for "shop/portico-gateway-web": "203.0.113.9" is not allowed in config',
    });
    const p = cond(withAddressing(compiled('AddressNotAssigned'), 1, a), 'Programmed')!;
    expect(p).toMatchObject({ status: 'False', reason: 'AddressNotUsable' });
    expect(p.message).toContain('is not allowed in config');
  });

  it('a requested IP not yet assigned (another one is): not Programmed', () => {
    const a = gatewayAddressing(gateway({ addresses: [{ value: '192.0.2.9' }] }), {
      staticAddresses: [],
      withService: true,
      service: assigned('192.0.2.1'),
    });
    expect(a.addresses).toEqual([]);
    expect(a.waiting).toContain('192.0.2.9');
  });

  it('an unsupported address type: Accepted=False/UnsupportedAddress', () => {
    const a = gatewayAddressing(gateway({ addresses: [{ type: 'test/fake', value: 'x' }] }), {
      staticAddresses: ['198.51.100.1'],
      withService: false,
    });
    const s = withAddressing(compiled('AddressNotAssigned'), 1, a);
    expect(cond(s, 'Accepted')).toMatchObject({ status: 'False', reason: 'UnsupportedAddress' });
    expect(cond(s, 'Programmed')?.status).toBe('False');
    expect(s.addresses).toEqual([]);
  });

  it('without Services, spec.addresses must be the static address', () => {
    const ok = gatewayAddressing(gateway({ addresses: [{ value: '198.51.100.1' }] }), {
      staticAddresses: ['198.51.100.1'],
      withService: false,
    });
    expect(ok.notUsable).toBeUndefined();
    const other = gatewayAddressing(gateway({ addresses: [{ value: '198.51.100.2' }] }), {
      staticAddresses: ['198.51.100.1'],
      withService: false,
    });
    expect(other.notUsable).toContain('198.51.100.2');
  });

  it('do not make a Gateway without a usable listener Programmed', () => {
    const a = gatewayAddressing(gateway(), { staticAddresses: ['198.51.100.1'], withService: false });
    expect(cond(withAddressing(compiled('Invalid'), 1, a), 'Programmed')?.reason).toBe('Invalid');
  });
});
