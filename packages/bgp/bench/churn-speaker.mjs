// Our speaker for the churn benchmark, in its own process (so its CPU time is its own): announces
// the base table to the router, then on {"op":"churn"} drives the churn plan itself.
// argv[2]: JSON { plan, peer }. Events on stdout as JSON lines (see churn-plan.mjs).
import { createInterface } from 'node:readline';
import { Speaker } from '../dist/index.js';
import { emit, prefixOf, runChurn } from './churn-plan.mjs';

const { plan, peer } = JSON.parse(process.argv[2]);
const attributes = { nextHop: peer.localAddress, communities: ['65001:100'] };

const speaker = new Speaker({ localAsn: 65001, routerId: peer.localAddress });
speaker.on('established', () => emit({ event: 'established' }));
speaker.addPeer({
  peerAddress: peer.address,
  peerAsn: 65000,
  localAddress: peer.localAddress,
  families: ['ipv4'],
  connectRetryTime: 1,
  // A stopped bench speaker must not leave stale routes behind (RFC 4724 would keep them).
  gracefulRestart: false,
});
speaker.setRoutes(Array.from({ length: plan.base }, (_, i) => ({ prefix: prefixOf(i), ...attributes })));
await speaker.start();
emit({ event: 'ready' });

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'churn') {
    void runChurn(plan, (adds, withdrawals) => {
      for (const prefix of adds) speaker.announce({ prefix, ...attributes });
      for (const prefix of withdrawals) speaker.withdraw(prefix);
    }).then((result) => emit({ event: 'churn-done', ...result }));
  }
  if (cmd.op === 'stop') void speaker.stop().then(() => process.exit(0));
});
