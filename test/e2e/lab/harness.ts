/**
 * Shared helpers for the lab end-to-end tests: preconditions (root, tools, a fresh build), the
 * CLI as a user runs it, requests from the client namespace, the router's view of a prefix.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LabApi,
  startSpeaker,
  CLIENT,
  NODES,
  ROUTER,
  routerNextHops,
  readState,
  writeState,
  type LabState,
  type Lab,
} from '@portico/lab';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
const portico = `${root}packages/cli/bin/portico.js`;

/** Throws (the test fails) unless we are root with the tools the lab needs; builds the CLI. */
export function requireLabPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new Error('the lab e2e tests need root (network namespaces)');
  for (const tool of ['ip', 'curl', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`the lab e2e tests need ${tool} (apt-get install iproute2 curl frr)`);
  // The lab's Gateway needs the Gateway API CRDs, which come from a Go module.
  if (spawnSync('sh', ['-c', 'command -v go']).status !== 0)
    throw new Error('the lab e2e tests need Go (the Gateway API CRDs come from its module proxy)');
  buildCli();
}

/**
 * Builds the CLI and the lab it loads. When another package does not compile at this moment
 * (parallel work), tsc -b still emits; the tests go on as long as the lab's own files were emitted
 * from current sources.
 */
function buildCli(): void {
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/cli'], {
      cwd: root,
      encoding: 'utf8',
    });
  } catch (err) {
    const sources = [
      ...readdirSync(`${root}packages/lab/src`).map((f) => `packages/lab/src/${f}`),
      'packages/cli/src/commands/lab.ts',
    ];
    const stale = sources.filter((f) => {
      const out = root + f.replace('/src/', '/dist/').replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(root + f).mtimeMs;
    });
    if (stale.length > 0)
      throw new Error(
        `the CLI does not build (${stale.join(', ')} not emitted): ${(err as { stdout?: string }).stdout ?? ''}`,
        { cause: err },
      );
  }
}

export const labDir = () => mkdtempSync(join(tmpdir(), 'portico-lab-e2e-'));

export function cli(args: string[], timeoutMs = 120_000): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [portico, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The lab as the tests drive it: its state (re-read from the state file) and the API. */
export function openLab(dir: string): Lab {
  const state = readState(dir);
  if (!state) throw new Error(`no lab state in ${dir}`);
  return { state, api: LabApi.fromKubeconfig(state.kubeconfig) };
}

export interface Answer {
  pod: string;
  node: string;
  host: string;
}

/** One GET from the client namespace; undefined when it fails. */
export function clientGet(url: string, host?: string, timeoutSeconds = 2): Answer | undefined {
  const args = ['netns', 'exec', CLIENT, 'curl', '-s', '-f', '-m', String(timeoutSeconds)];
  if (host) args.push('-H', `Host: ${host}`);
  const r = spawnSync('ip', [...args, url], { encoding: 'utf8', timeout: (timeoutSeconds + 5) * 1000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as Answer;
  } catch {
    return undefined;
  }
}

/** Polls until `check` returns a value (bounded by `timeoutMs`), or throws naming `what`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}`);
}

export function nextHops(state: LabState, prefix: string): string[] {
  if (!state.router) throw new Error('the lab has no router');
  return routerNextHops(state.router, join(state.dir, 'router'), prefix);
}

/** The MAC address of each lab node's segment interface, by node name. */
export function nodeMacs(): Map<string, string> {
  const macs = new Map<string, string>();
  for (const n of NODES) {
    const out = spawnSync('ip', ['-n', n.name, '-j', 'link', 'show', n.link], { encoding: 'utf8' }).stdout;
    const [link] = JSON.parse(out) as Array<{ address: string }>;
    macs.set(link!.address.toLowerCase(), n.name);
  }
  return macs;
}

/** Which node the router sends a layer-2 IP's traffic to (its neighbour entry), if any. */
export function routerNeighbourNode(ip: string): string | undefined {
  const out = spawnSync('ip', ['-n', ROUTER, '-j', 'neigh', 'show', ip], { encoding: 'utf8' }).stdout;
  const [entry] = (JSON.parse(out || '[]') as Array<{ lladdr?: string; state?: string[] }>).filter(
    (e) => e.lladdr,
  );
  return entry ? nodeMacs().get(entry.lladdr!.toLowerCase()) : undefined;
}

/** Starts (again) the speaker of one node and records its pid in the lab state. */
export function restartSpeaker(lab: Lab, node: string): void {
  lab.state.pids[`speaker-${node}`] = startSpeaker(lab.state, node);
  writeState(lab.state);
}
