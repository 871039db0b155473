// FRR daemons (zebra, bfdd, bgpd) in one namespace, from the testbed (a private state directory
// owned by frr, one config file per daemon, --bfdctl for bfdd, vtysh through the private vty
// socket), with the bounded polling the BFD timing assertions measure.
import { type BfddPeer, Frr as FrrDaemons, type FrrDaemon } from '@portico/testbed';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type { BfddPeer, FrrDaemon };

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads `read()` every 50 ms until `predicate` holds, for at most `timeoutMs` (the elapsed time is
 * what the timing assertions measure); otherwise throws with `failure(last value read)`.
 */
export async function pollUntil<T>(
  read: () => T,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  failure: (last: T | undefined) => string,
): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  let last: T | undefined;
  for (let i = 0; i < timeoutMs / 50 + 1 && Date.now() - start <= timeoutMs; i++) {
    const value = read();
    last = value;
    if (predicate(value)) return { value, elapsedMs: Date.now() - start };
    await sleep(50);
  }
  throw new Error(failure(last));
}

export class Frr extends FrrDaemons {
  constructor(netns: string) {
    super(netns, mkdtempSync(join(tmpdir(), 'pbfd-frr-')));
  }

  /** Starts one daemon with its own config; zebra first when it is used (it owns zserv.api). */
  start(daemon: FrrDaemon, config: string): void {
    this.startDaemon(daemon, config);
  }

  /** Polls `show bfd peers json` every 50 ms until the peer satisfies `predicate`. */
  async waitForBfdPeer(
    address: string,
    predicate: (peer: BfddPeer) => boolean,
    timeoutMs: number,
  ): Promise<{ peer: BfddPeer; elapsedMs: number }> {
    const { value, elapsedMs } = await pollUntil(
      () => this.bfdPeer(address),
      (peer) => peer !== undefined && predicate(peer),
      timeoutMs,
      (last) => `bfdd peer ${address} not as expected after ${timeoutMs} ms: ${JSON.stringify(last)}`,
    );
    return { peer: value!, elapsedMs };
  }
}
