// The layer-2 test bed of testbed.md §3, in network namespaces prefixed "pl2": a switch namespace
// holding a bridge, with veth ports to two announcer namespaces (n1, n2) and a client namespace.
// Shared by the end-to-end tests and the takeover benchmark. Needs root and iproute2.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';
import { createSegment, destroySegment } from '@portico/testbed';

export const SWITCH = 'pl2-sw';
export const NODES = ['pl2-n1', 'pl2-n2'];
export const CLIENT = 'pl2-c';
export const VIP4 = '203.0.113.60';
export const VIP6 = '2001:db8:1::60';
const ADDRESSES = { 'pl2-n1': 2, 'pl2-n2': 3, 'pl2-c': 100 };

/** The interface towards the switch inside namespace `ns`. */
export const port = (ns) => `${ns}-eth1`;

export function sh(args, options = {}) {
  return execFileSync(args[0], args.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
}

/** Throws a clear message when the test bed cannot be built here (not root, no iproute2). */
export function requireTools(tools = ['ip']) {
  if (process.getuid?.() !== 0) throw new Error('layer-2 tests need root (network namespaces, CAP_NET_RAW)');
  for (const tool of tools) {
    try {
      sh(['sh', '-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`layer-2 tests need "${tool}" (Debian packages: see .ci/apt-packages)`);
    }
  }
}

const SEGMENT = {
  switchNetns: SWITCH,
  bridge: 'pl2-br0',
  // An MLD-snooping bridge with a querier, like a managed switch: IPv6 multicast (Neighbor
  // Solicitations to solicited-node groups) only reaches ports that reported the group.
  bridgeOptions: ['mcast_snooping', '1', 'mcast_querier', '1'],
  members: [...NODES, CLIENT].map((ns) => ({
    netns: ns,
    link: port(ns),
    switchPort: `${ns}-sw`,
    addresses: [`203.0.113.${ADDRESSES[ns]}/24`, `2001:db8:1::${ADDRESSES[ns].toString(16)}/64`],
  })),
};

export function teardown() {
  destroySegment(SEGMENT);
}

export function setup() {
  teardown();
  createSegment(SEGMENT);
}

/** The bridge's multicast database: [{ port, grp }] (what MLD snooping learned). */
export function switchGroups() {
  return JSON.parse(sh(['bridge', '-n', SWITCH, '-j', 'mdb', 'show']))[0]?.mdb ?? [];
}

export function macOf(ns) {
  return JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show', port(ns)]))[0].address;
}

/** The client kernel's neighbour entry for `ip`: { lladdr?, state: [...] } or undefined. */
export function clientNeighbour(ip) {
  const entries = JSON.parse(
    sh(['ip', '-n', CLIENT, '-j', 'neigh', 'show', ip, 'dev', port(CLIENT)]) || '[]',
  );
  return entries[0];
}

export function flushClientNeighbour(ip) {
  try {
    sh(['ip', '-n', CLIENT, 'neigh', 'del', ip, 'dev', port(CLIENT)]);
  } catch {
    // no entry
  }
}

/** Makes the client kernel resolve `ip` (ping sends one echo; nobody answers it, which is fine). */
export function clientResolve(ip) {
  const family = ip.includes(':') ? '-6' : '-4';
  try {
    sh(['ip', 'netns', 'exec', CLIENT, 'ping', family, '-c1', '-W1', ip]);
  } catch {
    // no echo reply: only the neighbour table matters
  }
}

/** Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(check, { timeoutMs = 5000, intervalMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return undefined;
}

/**
 * Follows the client's neighbour table with `ip monitor neigh` and resolves with the time
 * (performance.timeOrigin-based, ms) at which `ip` first pointed at `mac`.
 */
export function watchClientNeighbour(ip, mac, timeoutMs = 5000) {
  const child = spawn('ip', ['-n', CLIENT, 'monitor', 'neigh', 'dev', port(CLIENT)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout });
  let timer;
  const done = new Promise((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
    lines.on('line', (line) => {
      const words = line.split(/\s+/);
      if (words[0] === ip && line.includes(`lladdr ${mac}`))
        resolve(performance.timeOrigin + performance.now());
    });
  }).finally(() => {
    clearTimeout(timer);
    child.kill();
  });
  return { started: once(child, 'spawn'), done };
}

const RUNNER = fileURLToPath(new URL('./announcer-runner.mjs', import.meta.url));

/**
 * Starts an announcer (announcer-runner.mjs on Node 24) inside `ns`. The returned object sends commands and
 * waits for JSON events from it.
 */
export async function startAnnouncer(ns, options = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, RUNNER, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    events.push(event);
    for (const w of [...waiters]) if (w.match(event)) w.resolve(event);
  });
  const announcer = {
    child,
    events,
    send(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
    },
    /** Resolves with the first event (already seen or future) matching `match`, or rejects after timeoutMs. */
    waitEvent(match, timeoutMs = 5000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e) => (clearTimeout(timer), waiters.splice(waiters.indexOf(waiter), 1), resolve(e)),
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `announcer in ${ns}: no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`,
            ),
          );
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  await announcer.waitEvent((e) => e.event === 'ready' || e.event === 'error', 10_000);
  const failed = events.find((e) => e.event === 'error');
  if (failed) throw new Error(`announcer in ${ns} failed: ${failed.message}`);
  return announcer;
}
