/**
 * `portico lab up | status | down [--dir DIR] [--json]`: the whole system on one Linux host, in
 * network namespaces (see docs/lab.md). The work is in ../lab/: plan (names and addresses),
 * topology, router, workloads (pods and EndpointSlices), node-proxy (kube-proxy stand-in),
 * speaker, up, status, down.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { labDown } from '../lab/down.js';
import { DEFAULT_DIR, readState } from '../lab/state.js';
import { labStatus, printStatus } from '../lab/status.js';
import { checkPrerequisites, labUp, type UpOptions } from '../lab/up.js';

const usage = `usage: portico lab up [--router auto|frr|bird|none] | status [--json] | down
       [--dir DIR]   where the lab keeps its state, logs and kubeconfig (default /tmp/portico-lab)`;

const ROUTERS = ['auto', 'frr', 'bird', 'none'];

function options(args: string[]) {
  return parseArgs({
    args,
    options: {
      dir: { type: 'string', default: DEFAULT_DIR },
      json: { type: 'boolean', default: false },
      router: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
}

/** The options, or the exit code when there is nothing to run (usage error 2, --help 0). */
function parsed(args: string[]): ReturnType<typeof options> | number {
  try {
    const o = options(args);
    if (o.help) {
      console.log(usage);
      return 0;
    }
    if (!ROUTERS.includes(o.router)) throw new Error(`--router must be one of ${ROUTERS.join(', ')}`);
    return o;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
}

const say = (line: string) => console.log(line);

export const up: Command = {
  async run(args) {
    const o = parsed(args);
    if (typeof o === 'number') return o;
    const problem = checkPrerequisites(o.dir);
    if (problem) {
      console.error(problem);
      return 1;
    }
    try {
      await labUp({ dir: o.dir, router: o.router as UpOptions['router'], say });
      return 0;
    } catch (err) {
      console.error(`lab up failed: ${(err as Error).message}`);
      console.error(`logs are in ${o.dir}; \`portico lab down\` removes what was made`);
      return 1;
    }
  },
};

export const status: Command = {
  async run(args) {
    const o = parsed(args);
    if (typeof o === 'number') return o;
    const state = readState(o.dir);
    if (!state) {
      console.error(`no lab is up (no state in ${o.dir}); start one with \`portico lab up\``);
      return 1;
    }
    const s = await labStatus(state);
    if (o.json) console.log(JSON.stringify(s));
    else printStatus(s, say);
    return 0;
  },
};

export const down: Command = {
  async run(args) {
    const o = parsed(args);
    if (typeof o === 'number') return o;
    if (process.getuid?.() !== 0) {
      console.error('portico lab down needs root: it removes network namespaces');
      return 1;
    }
    await labDown(o.dir, say);
    return 0;
  },
};
