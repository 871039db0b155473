/**
 * Real UDP on loopback: five detectors with production timing (100 ms heartbeats, 500 ms
 * suspicion). One is stopped as if its process died; the others must all agree it is dead well
 * within a second.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FailureDetector, type Member } from '../src/membership/detector.js';
import { openUdpTransport, type UdpTransport } from '../src/membership/udp-transport.js';

const transports: UdpTransport[] = [];
const detectors: FailureDetector[] = [];

afterAll(async () => {
  for (const d of detectors) d.stop();
  await Promise.all(transports.map((t) => t.close()));
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < timeoutMs / 5 + 1; i++) {
    if (check()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('FailureDetector over UDP on loopback', () => {
  it('all survivors agree a killed speaker is dead in under a second', async () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const _ of names) transports.push(await openUdpTransport('127.0.0.1', 0));
    const members: Member[] = names.map((name, i) => ({
      name,
      address: '127.0.0.1',
      port: transports[i]!.port,
      expected: true,
    }));
    names.forEach((name, i) => {
      const d = new FailureDetector({ self: name, transport: transports[i]! });
      d.setMembers(members);
      detectors.push(d);
    });
    for (const d of detectors) d.start();
    await waitFor(() => detectors.every((d) => d.alivePeers().length === 4 && d.hasQuorum), 3000);

    const victim = detectors[4]!;
    victim.stop();
    await transports[4]!.close();
    transports.pop();
    const killedAt = performance.now();
    const survivors = detectors.slice(0, 4);
    await waitFor(() => survivors.every((d) => !d.isAlive('n5')), 2000);
    const detectedMs = performance.now() - killedAt;
    // Suspicion is 500 ms; allow for a loaded machine, but it must stay under a second.
    expect(detectedMs).toBeGreaterThanOrEqual(400);
    expect(detectedMs).toBeLessThan(1000);
    for (const d of survivors) expect(d.hasQuorum).toBe(true);
  });
});
