// TCP-MD5 (RFC 2385) through the native helper, both ends ours, on loopback: the listener gets the
// key per peer (passive), the connecting side sets it before connect (active).
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker } from '../src/speaker.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function pair(listenKey: string, connectKey: string | undefined) {
  const a = new Speaker({
    localAsn: 65000,
    routerId: '192.0.2.1',
    listen: { address: '127.0.0.1', port: 0 },
  });
  a.addPeer({ peerAddress: '127.0.0.1', peerAsn: 65001, passive: true, password: listenKey });
  await a.start();
  const b = new Speaker({ localAsn: 65001, routerId: '192.0.2.2' });
  b.addPeer({
    peerAddress: '127.0.0.1',
    peerPort: a.listenPort,
    peerAsn: 65000,
    connectTimeout: 1,
    connectRetryTime: 1,
    ...(connectKey ? { password: connectKey } : {}),
  });
  cleanups.push(
    () => b.stop(),
    () => a.stop(),
  );
  await b.start();
  return { a, b };
}

async function established(s: Speaker, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 50; i++) {
    if (s.peer('127.0.0.1')?.state === 'Established') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('TCP-MD5', () => {
  it('comes up when both ends use the same key', async () => {
    const { a, b } = await pair('s3cret', 's3cret');
    expect(await established(b, 5000)).toBe(true);
    expect(await established(a, 1000)).toBe(true);
  });

  it('is refused with a wrong key', async () => {
    const { a, b } = await pair('s3cret', 'wrong');
    expect(await established(b, 2500)).toBe(false);
    expect(a.peer('127.0.0.1')?.state).not.toBe('Established');
  });

  it('is refused without a key when the listener requires one', async () => {
    const { b } = await pair('s3cret', undefined);
    expect(await established(b, 2500)).toBe(false);
  });
});
