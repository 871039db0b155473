// One BFD session in its own process, run inside the test's network namespace with
// `ip netns exec`. Config is argv[2] (JSON: BfdSession options). Commands arrive as JSON lines on
// stdin ({"op":"stop","silent":bool}, {"op":"status"}); events leave as JSON lines on stdout with
// a wall-clock timestamp `t` (ms). It runs the compiled library: `npx tsc -b packages/bgp` first.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { BfdSession } from '@portico/bgp';

const now = () => performance.timeOrigin + performance.now();
const emit = (event) => process.stdout.write(`${JSON.stringify({ ...event, t: now() })}\n`);

const session = new BfdSession(JSON.parse(process.argv[2]));
session.on('state', (state, previous) => emit({ event: 'state', state, previous }));
session.on('up', () => emit({ event: 'up' }));
session.on('down', (down) => emit({ event: 'down', ...down }));
const status = () => ({
  state: session.state,
  remoteState: session.remoteState,
  detectionTimeMs: session.detectionTimeMs,
  transmitIntervalMs: session.transmitIntervalMs,
});
try {
  session.start();
} catch (err) {
  emit({ event: 'error', message: err.message });
  process.exit(1);
}
emit({ event: 'started', discriminator: session.localDiscriminator });

createInterface({ input: process.stdin }).on('line', async (line) => {
  const command = JSON.parse(line);
  if (command.op === 'status') emit({ event: 'status', ...status() });
  if (command.op === 'stop') {
    await session.stop({ silent: command.silent === true });
    emit({ event: 'stopped', ...status() });
    process.exit(0);
  }
});
