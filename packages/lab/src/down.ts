/**
 * `portico lab down`: stops every process the lab started (by the pids in its state file, then
 * anything still running inside its namespaces, which covers a crashed `up`, and any etcd or
 * kube-apiserver still working on the lab's data), removes the namespaces, the host's link into
 * the segment and the state directory (with etcd's data). Safe to run twice.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { kubeDataDir } from './apiserver.js';
import { routerPids } from './router.js';
import { run } from '@portico/testbed';
import { alive, stopGroup, waitFor } from './shell.js';
import { readState } from './state.js';
import { destroyTopology, existingNamespaces } from './topology.js';

export async function labDown(dir: string, say: (line: string) => void): Promise<void> {
  const state = readState(dir);
  const pids: Array<[string, number]> = [
    ...Object.entries(state?.pids ?? {}),
    ...(state?.pods ?? []).map((p): [string, number] => [`pod ${p.namespace}/${p.name}`, p.pid]),
    ...routerPids(join(dir, 'router')).map((pid): [string, number] => ['router daemon', pid]),
  ];
  await Promise.all(
    pids.map(async ([name, pid]) => {
      if (!alive(pid)) return;
      // The process running kube-apiserver and etcd stops them in order (kube-apiserver still
      // writes to etcd while it shuts down); a signal to the whole group would stop both at once.
      if (name === 'apiserver' && state?.apiServer?.kind !== 'dev') await stopLeader(pid, 15_000);
      await stopGroup(pid);
      say(`==> stopped ${name} (pid ${pid})`);
    }),
  );
  // Whatever still runs in a lab namespace (e.g. after a crashed `up` lost its state) goes too.
  for (const ns of existingNamespaces()) {
    const left = run('ip', ['netns', 'pids', ns], { allowFail: true })
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()));
    for (const pid of left) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  // A real control plane runs on the host, outside the namespaces. It goes with the process that
  // started it (process group, pdeathsig); should one still run on the lab's data, it goes now.
  for (const pid of controlPlaneProcesses(kubeDataDir(resolve(dir)))) {
    try {
      process.kill(pid, 'SIGKILL');
      say(`==> killed pid ${pid}, still running on ${kubeDataDir(dir)}`);
    } catch {
      // already gone
    }
  }
  const namespaces = existingNamespaces();
  destroyTopology();
  if (namespaces.length > 0) say(`==> removed network namespaces ${namespaces.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
  say(`==> removed ${dir}`);
}

/**
 * The lab's control-plane processes that work on DIR: etcd or kube-apiserver with an argument
 * inside it (etcd's --data-dir, kube-apiserver's certificate files), or the lab process that runs
 * them (kube-apiserver.js DIR ...). Nothing else, such as a `tail -f` of a log there, is included.
 */
export function controlPlaneProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const ours =
      ['etcd', 'kube-apiserver'].includes(basename(args[0] ?? '')) ||
      args.some((a) => a.endsWith('/lab/kube-apiserver.js'));
    if (ours && args.some((a) => a === dir || a.includes(`${dir}/`))) pids.push(Number(entry));
  }
  return pids;
}

/** SIGTERM to PID alone, then up to `graceMs` for it to exit (the group is stopped after). */
async function stopLeader(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  await waitFor(() => !alive(pid), graceMs, `pid ${pid} to stop`).catch(() => undefined);
}
