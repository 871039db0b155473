/**
 * `portico lab down`: stops every process the lab started (by the pids in its state file, then
 * anything still running inside its namespaces, which covers a crashed `up`), removes the
 * namespaces, the host's link into the segment and the state directory. Safe to run twice.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { routerPids } from './router.js';
import { alive, sh, stopGroup } from './shell.js';
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
      await stopGroup(pid);
      say(`==> stopped ${name} (pid ${pid})`);
    }),
  );
  // Whatever still runs in a lab namespace (e.g. after a crashed `up` lost its state) goes too.
  for (const ns of existingNamespaces()) {
    const left = sh('ip', ['netns', 'pids', ns], { allowFail: true })
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
  const namespaces = existingNamespaces();
  destroyTopology();
  if (namespaces.length > 0) say(`==> removed network namespaces ${namespaces.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
  say(`==> removed ${dir}`);
}
