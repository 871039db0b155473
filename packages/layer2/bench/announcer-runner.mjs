// A small announcer process for the layer-2 end-to-end tests and benchmark, run inside a network
// namespace. Commands arrive as JSON lines on stdin ({"announce": ip}, {"withdraw": ip},
// {"metrics": true}); events leave as JSON lines on stdout with a wall-clock timestamp `t` (ms).
// It uses the built library (packages/layer2/dist): run `npx tsc -b packages/layer2` first.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { clearInterval, setInterval } from 'node:timers';
import { Announcer } from '../dist/index.js';

const now = () => performance.timeOrigin + performance.now();
const emit = (event) => process.stdout.write(`${JSON.stringify({ ...event, t: now() })}\n`);
const options = JSON.parse(process.argv[2] ?? '{}');

let announcer;
try {
  announcer = new Announcer(options);
} catch (err) {
  emit({ event: 'error', message: err.message });
  process.exit(1);
}
announcer.on('conflict', (conflict) => emit({ event: 'conflict', ...conflict }));
emit({ event: 'ready', interfaces: announcer.interfaces });

// Report interface changes (picked up by the announcer's rescan) so tests can wait for them.
let lastInterfaces = announcer.interfaces.join(',');
const timer = setInterval(() => {
  if (announcer.interfaces.join(',') === lastInterfaces) return;
  lastInterfaces = announcer.interfaces.join(',');
  emit({ event: 'interfaces', interfaces: announcer.interfaces });
}, 100);
createInterface({ input: process.stdin }).on('line', async (line) => {
  const command = JSON.parse(line);
  if (command.announce) {
    emit({ event: 'announcing', ip: command.announce });
    await announcer.announce(command.announce);
    emit({ event: 'announced', ip: command.announce });
  } else if (command.withdraw) {
    announcer.withdraw(command.withdraw);
    emit({ event: 'withdrawn', ip: command.withdraw });
  } else if (command.metrics) {
    emit({ event: 'metrics', text: await announcer.registry.metrics() });
  }
});

const stop = () => {
  clearInterval(timer);
  announcer.close();
  emit({ event: 'closed' });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
