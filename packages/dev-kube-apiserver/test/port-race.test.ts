/**
 * A control-plane process whose port was taken between freePort() and its own bind is started
 * again on fresh ports (port-race.ts): the retry rule, and that real etcd's failure is one it
 * recognises.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBinaries } from '../src/build.js';
import { ControlPlaneProcess } from '../src/child.js';
import { PORT_RACE_TRIES, retryLostPortRace } from '../src/port-race.js';

const lostRace = () => new Error('etcd exited with code 1 while starting: bind: address already in use');

describe('retryLostPortRace', () => {
  it('starts again after undoing a start that lost its port', async () => {
    let attempts = 0;
    let undone = 0;
    const result = await retryLostPortRace(
      async () => {
        attempts++;
        if (attempts < PORT_RACE_TRIES) throw lostRace();
        return 'up';
      },
      async () => undone++,
    );
    expect(result).toBe('up');
    expect(attempts).toBe(PORT_RACE_TRIES);
    expect(undone).toBe(PORT_RACE_TRIES - 1);
  });

  it(`gives up after ${PORT_RACE_TRIES} lost races, with the last error`, async () => {
    let attempts = 0;
    await expect(
      retryLostPortRace(
        async () => {
          attempts++;
          throw lostRace();
        },
        async () => undefined,
      ),
    ).rejects.toThrow(/address already in use/);
    expect(attempts).toBe(PORT_RACE_TRIES);
  });

  it('does not retry any other failure', async () => {
    let attempts = 0;
    await expect(
      retryLostPortRace(
        async () => {
          attempts++;
          throw new Error('kube-apiserver was not ready after 90000 ms');
        },
        async () => undefined,
      ),
    ).rejects.toThrow(/not ready/);
    expect(attempts).toBe(1);
  });

  it('real etcd on a taken port fails with what it recognises', async () => {
    const binaries = await ensureBinaries();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'portico-port-race-'));
    const etcd = new ControlPlaneProcess(
      'etcd',
      binaries.etcd,
      [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${taken}`,
        `--advertise-client-urls=http://127.0.0.1:${taken}`,
        '--listen-peer-urls=http://127.0.0.1:0',
      ],
      join(dir, 'etcd.log'),
    );
    try {
      let attempts = 0;
      await expect(
        retryLostPortRace(
          async () => {
            attempts++;
            await etcd.waitUntil(async () => false, 30_000);
          },
          async () => undefined,
        ),
      ).rejects.toThrow(/address already in use/);
      // Recognised as a lost race: tried the full number of times, not given up at once.
      expect(attempts).toBe(PORT_RACE_TRIES);
    } finally {
      await etcd.stop();
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
