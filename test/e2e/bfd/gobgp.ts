// GoBGP in the node namespace as a stand-in BGP speaker (testbed.md section 1.5), so the FRR side
// of BGP + BFD can be exercised before Portico's own speaker is wired to BfdSession.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GobgpOptions {
  asn: number;
  routerId: string;
  neighbor: string;
  neighborAsn: number;
}

export class Gobgp {
  private readonly dir = mkdtempSync(join(tmpdir(), 'pbfd-gobgp-'));
  private child: ChildProcess | undefined;

  constructor(
    private readonly netns: string,
    private readonly options: GobgpOptions,
  ) {
    if (!existsSync('/usr/bin/gobgpd')) {
      throw new Error('/usr/bin/gobgpd is missing: apt-get install -y --no-install-recommends gobgpd');
    }
  }

  start(): void {
    const { asn, routerId, neighbor, neighborAsn } = this.options;
    const config = join(this.dir, 'gobgpd.toml');
    writeFileSync(
      config,
      `[global.config]
  as = ${asn}
  router-id = "${routerId}"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${neighbor}"
    peer-as = ${neighborAsn}
  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
`,
    );
    // The gRPC API listens inside the namespace only.
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.netns,
        'gobgpd',
        '-f',
        config,
        '--api-hosts',
        '127.0.0.1:50051',
        '-p',
        '--pprof-disable',
      ],
      { stdio: 'ignore' },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
