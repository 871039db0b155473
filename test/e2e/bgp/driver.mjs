// A speaker process for the end-to-end tests, run inside the test's network namespace with
// `ip netns exec`. It reads one JSON command per line on stdin and writes one JSON event per line
// on stdout. It runs the compiled library (packages/bgp/dist), which the test builds first.
import { createInterface } from 'node:readline';
import { setTimeout } from 'node:timers';
import { Speaker } from '@portico/bgp';

const config = JSON.parse(process.argv[2]);
const speaker = new Speaker({ localAsn: config.localAsn, routerId: config.routerId, listen: config.listen });
const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
speaker.on('state', (peer, state) => emit({ event: 'state', peer, state }));
speaker.on('established', (peer, n) =>
  emit({ event: 'established', peer, families: n.families, holdTime: n.holdTime }),
);
speaker.on('down', (peer, reason) => emit({ event: 'down', peer, reason }));
speaker.on('sent', (peer, counts) => emit({ event: 'sent', peer, ...counts }));
speaker.on('end-of-rib', (peer, afi) => emit({ event: 'end-of-rib', peer, afi }));
for (const p of config.peers) speaker.addPeer(p);
speaker.setRoutes(config.routes ?? []);
await speaker.start();
emit({ event: 'started' });

createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'routes') speaker.setRoutes(cmd.routes);
  if (cmd.op === 'withdraw') speaker.withdraw(cmd.prefix);
  if (cmd.op === 'stop') {
    await speaker.stop({ graceful: cmd.graceful });
    emit({ event: 'stopped' });
    setTimeout(() => process.exit(0), 100);
  }
});
