// eBGP multihop: `ttl` is applied to our packets by the native connect path. Checked on loopback by
// capturing our SYN with tcpdump (a Debian package the tests need: fails loudly when missing).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker } from '../src/speaker.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('TTL for eBGP multihop', () => {
  it('sends our packets with the configured TTL', async () => {
    if (!existsSync('/usr/bin/tcpdump')) throw new Error('tcpdump not found: apt-get install tcpdump');
    const server = createServer((s) => s.on('error', () => undefined).resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const dump = spawn(
      'tcpdump',
      ['-i', 'lo', '-n', '-v', '-l', '-c', '1', `tcp dst port ${port} and tcp[tcpflags] & tcp-syn != 0`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cleanups.push(() => void dump.kill());
    let out = '';
    let err = '';
    dump.stdout.on('data', (d) => (out += d));
    dump.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 100 && !err.includes('listening on'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(err).toContain('listening on');

    const speaker = new Speaker({ localAsn: 65001, routerId: '192.0.2.2' });
    speaker.addPeer({
      peerAddress: '127.0.0.1',
      peerPort: port,
      peerAsn: 65000,
      ttl: 7,
      connectRetryTime: 5,
    });
    cleanups.push(() => speaker.stop());
    await speaker.start();
    for (let i = 0; i < 100 && !/ttl \d+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(/ttl (\d+)/.exec(out)?.[1]).toBe('7');
  });
});
