/**
 * `portico lab up | status | down [--dir DIR] [--json]`: the whole system on one Linux host, in
 * network namespaces (see docs/lab.md). The CLI loads this module only when `portico lab` runs.
 * The work is in the modules beside it: plan (names and addresses), topology, router, apiserver
 * (the development API server or a real kube-apiserver), workloads (pods and EndpointSlices),
 * node-proxy (kube-proxy stand-in), speaker, up, status, down.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_SERVER_KINDS } from './apiserver.js';
import { labDown } from './down.js';
import { DEFAULT_DIR, readState } from './state.js';
import { labStatus, printStatus } from './status.js';
import { checkPrerequisites, labUp, type UpOptions } from './up.js';

/** A `portico lab` subcommand: the arguments after its name in, the process exit code out. */
export interface LabCommand {
  run(args: string[]): Promise<number>;
}

const usage = `usage: portico lab up [--router auto|frr|bird|none] [--apiserver dev|kube] [--config-map] | status [--json] | down
       [--dir DIR]   where the lab keeps its state, logs and kubeconfig (default /tmp/portico-lab)
       --apiserver   dev: the embedded development API server (default); kube: a real
                     kube-apiserver and etcd, built with Go from the pinned modules on first use
       --config-map  write the pools as MetalLB's v0.12 ConfigMap portico-system/config instead of
                     metallb.io resources (IPAddressPools, advertisements, BGPPeers; the default)`;

const ROUTERS = ['auto', 'frr', 'bird', 'none'];

function options(args: string[]) {
  return parseArgs({
    args,
    options: {
      dir: { type: 'string', default: DEFAULT_DIR },
      json: { type: 'boolean', default: false },
      router: { type: 'string', default: 'auto' },
      apiserver: { type: 'string', default: 'dev' },
      'config-map': { type: 'boolean', default: false },
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
    if (!(API_SERVER_KINDS as readonly string[]).includes(o.apiserver))
      throw new Error(`--apiserver must be one of ${API_SERVER_KINDS.join(', ')}`);
    // Absolute: the lab's processes get paths inside it, and `down` finds them by these paths.
    return { ...o, dir: resolve(o.dir) };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
}

const say = (line: string) => console.log(line);

export const up: LabCommand = {
  async run(args) {
    const o = parsed(args);
    if (typeof o === 'number') return o;
    const apiServer = o.apiserver as UpOptions['apiServer'];
    const problem = checkPrerequisites(o.dir, apiServer);
    if (problem) {
      console.error(problem);
      return 1;
    }
    try {
      await labUp({
        dir: o.dir,
        router: o.router as UpOptions['router'],
        apiServer,
        configSource: o['config-map'] ? 'configmap' : 'resources',
        say,
      });
      return 0;
    } catch (err) {
      console.error(`lab up failed: ${(err as Error).message}`);
      console.error(`logs are in ${o.dir}; \`portico lab down\` removes what was made`);
      return 1;
    }
  },
};

export const status: LabCommand = {
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

export const down: LabCommand = {
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
