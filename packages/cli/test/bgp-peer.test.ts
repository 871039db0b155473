// `portico bgp peer` run in-process against a speaker on loopback (no namespace needed).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatPrefix, Speaker } from '@portico/bgp';
import { run } from '../src/commands/bgp-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  vi.restoreAllMocks();
});

async function router(): Promise<{ speaker: Speaker; received: string[]; communities: number[][] }> {
  const speaker = new Speaker({
    localAsn: 65000,
    routerId: '192.0.2.1',
    listen: { address: '127.0.0.1', port: 0 },
  });
  speaker.addPeer({ peerAddress: '127.0.0.1', peerAsn: 65001, passive: true });
  const received: string[] = [];
  const communities: number[][] = [];
  speaker.on('update', (_p, u) => {
    received.push(...u.nlri.map(formatPrefix), ...(u.attributes.mpReach?.nlri ?? []).map(formatPrefix));
    if (u.attributes.communities) communities.push(u.attributes.communities);
  });
  await speaker.start();
  cleanups.push(() => speaker.stop());
  return { speaker, received, communities };
}

describe('portico bgp peer', () => {
  it('--check exits 0 once Established and the routes are sent, printing transitions and capabilities', async () => {
    const r = await router();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const code = await run([
      '--local-asn',
      '65001',
      '--peer',
      '127.0.0.1',
      '--peer-asn',
      '65000',
      '--port',
      String(r.speaker.listenPort),
      '--router-id',
      '192.0.2.2',
      '--announce',
      '198.51.100.10/32,2001:db8:100::10/128',
      '--next-hop',
      '2001:db8::2',
      '--community',
      '65001:100',
      '--check',
      '--timeout',
      '10',
    ]);
    expect(code).toBe(0);
    expect(lines.some((l) => l.includes('OpenConfirm -> Established'))).toBe(true);
    expect(lines.some((l) => l.includes('families ipv4-unicast ipv6-unicast'))).toBe(true);
    // Two routes in two families: one UPDATE each.
    const deadline = Date.now() + 3000;
    while (r.received.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    // The IPv4 route uses the session address as next hop; the IPv6 one needs --next-hop (given).
    expect(r.received.sort()).toEqual(['198.51.100.10/32', '2001:db8:100::10/128']);
    expect(r.communities[0]).toEqual([((65001 << 16) | 100) >>> 0]);
  });

  it('exits 1 when the session does not come up before the timeout', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    // A port nothing listens on: connections are refused and retried until --timeout.
    const code = await run([
      '--local-asn',
      '65001',
      '--peer',
      '127.0.0.1',
      '--peer-asn',
      '65000',
      '--port',
      '1',
      '--check',
      '--timeout',
      '2',
    ]);
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/timeout/);
  });

  it.each([
    [['--peer', '127.0.0.1', '--peer-asn', '65000'], /--local-asn is required/],
    [['--local-asn', '65001', '--peer', 'nope', '--peer-asn', '1'], /not an IP address/],
    [['--local-asn', '65001', '--peer', '127.0.0.1', '--peer-asn', '1', '--hold-time', '2'], /hold-time/],
    [
      ['--local-asn', '65001', '--peer', '127.0.0.1', '--peer-asn', '1', '--announce', '10.0.0.1/33'],
      /prefix length/,
    ],
    [['--local-asn', '65001', '--peer', '127.0.0.1', '--peer-asn', '1', '--community', '1:2:3'], /community/],
    [['--bogus'], /Unknown option/],
  ])('rejects bad usage %j with exit code 2', async (args, message) => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    expect(await run(args as string[])).toBe(2);
    expect(errors.join('\n')).toMatch(message);
  });
});
