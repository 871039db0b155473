import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMac } from '../src/mac.js';
import { readLinks, selectLinks } from '../src/interfaces.js';

// A fake /sys/class/net and /proc/net/if_inet6, laid out like the kernel's.
const root = mkdtempSync(join(tmpdir(), 'pl2-sysfs-'));
const sys = join(root, 'class-net');
const proc = join(root, 'if_inet6');
function fakeLink(name: string, index: number, flags: number, type = 1, master = false): void {
  const dir = join(sys, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ifindex'), `${index}\n`);
  writeFileSync(join(dir, 'address'), `02:00:00:00:00:${index.toString(16).padStart(2, '0')}\n`);
  writeFileSync(join(dir, 'flags'), `0x${flags.toString(16)}\n`);
  writeFileSync(join(dir, 'type'), `${type}\n`);
  if (master) symlinkSync(join(sys, 'br0'), join(dir, 'master'));
}
const UP_BROADCAST = 0x1003; // IFF_UP | IFF_BROADCAST | IFF_MULTICAST
fakeLink('lo', 1, 0x9, 772);
fakeLink('eth0', 2, UP_BROADCAST);
fakeLink('eth1', 3, UP_BROADCAST, 1, true); // bridge port
fakeLink('br0', 4, UP_BROADCAST);
fakeLink('eth2', 5, 0x1002); // down
fakeLink('veth9a1b', 6, UP_BROADCAST);
fakeLink('docker0', 7, UP_BROADCAST);
fakeLink('eth3', 8, UP_BROADCAST | 0x80); // NOARP
fakeLink('wg0', 9, 0x91, 65534); // not Ethernet
fakeLink('kube-ipvs0', 10, UP_BROADCAST);
mkdirSync(join(sys, 'broken')); // vanished while reading: skipped
writeFileSync(
  proc,
  [
    '20010db8000000000000000000000002 02 40 00 80     eth0',
    'fe800000000000000000000000000002 02 40 20 80     eth0',
    '00000000000000000000000000000001 01 80 10 80       lo',
  ].join('\n'),
);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('interfaces', () => {
  const links = readLinks({ sysClassNet: sys, procIfInet6: proc });

  it('reads index, MAC, flags, type, master and the link-local address', () => {
    const eth0 = links.find((l) => l.name === 'eth0')!;
    expect(eth0).toMatchObject({
      index: 2,
      up: true,
      broadcast: true,
      noArp: false,
      enslaved: false,
      ethernet: true,
    });
    expect(formatMac(eth0.mac)).toBe('02:00:00:00:00:02');
    expect(eth0.linkLocal?.toString('hex')).toBe('fe800000000000000000000000000002');
    expect(links.find((l) => l.name === 'eth1')?.enslaved).toBe(true);
    expect(links.find((l) => l.name === 'eth3')?.noArp).toBe(true);
    expect(links.map((l) => l.name)).not.toContain('broken');
  });

  it('selects by default: up, Ethernet, broadcast, ARP, not enslaved, not virtual', () => {
    expect(selectLinks(links).map((l) => l.name)).toEqual(['br0', 'eth0']);
  });

  it('an explicit list is honoured as long as the interface is up', () => {
    expect(selectLinks(links, ['eth2', 'veth9a1b', 'eth3', 'missing']).map((l) => l.name)).toEqual([
      'eth3',
      'veth9a1b',
    ]);
  });

  it('a custom exclusion list replaces the default one', () => {
    expect(selectLinks(links, undefined, [/^br/]).map((l) => l.name)).toEqual([
      'docker0',
      'eth0',
      'kube-ipvs0',
      'veth9a1b',
    ]);
  });

  it('reads only the names the filter lets through, and nothing from a missing directory', () => {
    expect(
      readLinks({ sysClassNet: sys, procIfInet6: proc, filter: (n) => n === 'eth0' }).map((l) => l.name),
    ).toEqual(['eth0']);
    expect(readLinks({ sysClassNet: join(root, 'nope'), procIfInet6: proc })).toEqual([]);
  });
});
