// GoBGP in the node namespace as a stand-in BGP speaker (testbed.md section 1.5), so the FRR side
// of BGP + BFD can be exercised before Portico's own speaker is wired to BfdSession.
import { Gobgp as GobgpDaemon, gobgpConfig } from '@portico/testbed';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GobgpOptions {
  asn: number;
  routerId: string;
  neighbor: string;
  neighborAsn: number;
}

export class Gobgp {
  private readonly daemon: GobgpDaemon;

  constructor(
    netns: string,
    private readonly options: GobgpOptions,
  ) {
    this.daemon = new GobgpDaemon(netns, mkdtempSync(join(tmpdir(), 'pbfd-gobgp-')));
  }

  start(): void {
    const { asn, routerId, neighbor, neighborAsn } = this.options;
    const config = gobgpConfig({
      asn,
      routerId,
      neighbors: [{ address: neighbor, peerAs: neighborAsn, connectRetry: 1 }],
    });
    // The gRPC API listens inside the namespace only.
    this.daemon.start(config, { wait: false });
  }

  async stop(): Promise<void> {
    await this.daemon.remove();
  }
}
