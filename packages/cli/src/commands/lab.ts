/**
 * `portico lab up | status | down`: the whole system on one host, for a first look.
 *
 * This first version runs the control plane only: the development API server and the controller
 * as background processes, a demo address pool and a demo LoadBalancer Service, and shows the IP
 * the Service got. Network namespaces, speakers, a router and the ingress join it as they land.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { applyObject, loadKubeConfig } from '@portico/kube';
import type { Command } from '../command.js';

const portico = fileURLToPath(new URL('../../bin/portico.js', import.meta.url));

interface LabState {
  dir: string;
  kubeconfig: string;
  pids: Record<string, number>;
  demoServices: Array<{ namespace: string; name: string }>;
}

const demoConfig = `address-pools:
  - name: demo
    protocol: layer2
    addresses:
      - 203.0.113.16/28
      - 2001:db8:1::10/124
`;

const demoService: V1Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'demo', namespace: 'default' },
  spec: {
    type: 'LoadBalancer',
    ipFamilyPolicy: 'PreferDualStack',
    selector: { app: 'demo' },
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  },
};

function options(args: string[]) {
  return parseArgs({
    args,
    options: {
      dir: { type: 'string', default: '/tmp/portico-lab' },
      json: { type: 'boolean', default: false },
    },
  }).values;
}

const step = (text: string) => console.log(`==> ${text}`);

export const up: Command = {
  async run(args) {
    const { dir } = options(args);
    if (existsSync(join(dir, 'state.json'))) {
      console.error(`a lab is already up (state in ${dir}); run \`portico lab down\` first`);
      return 1;
    }
    mkdirSync(dir, { recursive: true });
    const kubeconfig = join(dir, 'kubeconfig');
    const state: LabState = { dir, kubeconfig, pids: {}, demoServices: [] };
    const save = () => writeFileSync(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);

    step('starting the development API server');
    const apiPort = await freePort();
    state.pids.apiserver = background(dir, 'apiserver', [
      'dev',
      'apiserver',
      '--port',
      String(apiPort),
      '--kubeconfig-out',
      kubeconfig,
    ]);
    save();
    await waitFor(() => existsSync(kubeconfig), 15_000, 'the API server to write its kubeconfig');
    const kc = loadKubeConfig(kubeconfig);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${apiPort}/readyz`).catch(() => undefined))?.ok === true,
      15_000,
      'the API server',
    );

    step('starting the controller');
    state.pids.controller = background(dir, 'controller', [
      'controller',
      '--kubeconfig',
      kubeconfig,
      '--metrics-port',
      String(await freePort()),
    ]);
    save();

    step('writing the address pools (ConfigMap portico-system/config)');
    await applyObject(kc, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: { config: demoConfig },
    });
    console.log(demoConfig.replace(/^/gm, '    '));

    step('creating the LoadBalancer Service default/demo');
    await applyObject(kc, demoService);
    state.demoServices.push({ namespace: 'default', name: 'demo' });
    save();
    const ips = await waitForIPs(kc, 'default', 'demo', 30_000);
    step(`default/demo got ${ips.join(' and ')}`);
    console.log(
      `\nThe lab is up. Point kubectl at it:\n    export KUBECONFIG=${kubeconfig}\n    kubectl get services -A\n`,
    );
    console.log('Logs are in', dir, '- `portico lab status` shows the lab, `portico lab down` removes it.');
    return 0;
  },
};

export const status: Command = {
  async run(args) {
    const { dir, json } = options(args);
    const state = readState(dir);
    if (!state) {
      console.error('no lab is up');
      return 1;
    }
    const kc = loadKubeConfig(state.kubeconfig);
    const api = kc.makeApiClient(CoreV1Api);
    const services = await Promise.all(
      state.demoServices.map(async ({ namespace, name }) => {
        const svc = await api.readNamespacedService({ namespace, name }).catch(() => undefined);
        const allocated = (svc?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
        return {
          namespace,
          name,
          ips: allocated,
          url: allocated[0] ? `http://${bracket(allocated[0])}/` : null,
        };
      }),
    );
    const report = {
      clientNamespace: null,
      routerNamespace: null,
      nodeNamespaces: [],
      kubeconfig: state.kubeconfig,
      processes: Object.fromEntries(
        Object.entries(state.pids).map(([k, pid]) => [k, { pid, running: alive(pid) }]),
      ),
      services,
    };
    if (json) console.log(JSON.stringify(report));
    else {
      console.log(`kubeconfig: ${state.kubeconfig}`);
      for (const [name, p] of Object.entries(report.processes))
        console.log(`${name}: pid ${p.pid} ${p.running ? 'running' : 'STOPPED'}`);
      for (const s of services)
        console.log(`service ${s.namespace}/${s.name}: ${s.ips.join(', ') || '<pending>'}`);
    }
    return 0;
  },
};

export const down: Command = {
  async run(args) {
    const { dir } = options(args);
    const state = readState(dir);
    for (const [name, pid] of Object.entries(state?.pids ?? {})) {
      if (!alive(pid)) continue;
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !alive(pid), 5_000, `${name} to stop`).catch(() => process.kill(pid, 'SIGKILL'));
      step(`stopped ${name}`);
    }
    rmSync(dir, { recursive: true, force: true });
    step(`removed ${dir}`);
    return 0;
  },
};

function readState(dir: string): LabState | undefined {
  const file = join(dir, 'state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LabState) : undefined;
}

/** Starts `portico <args>` detached, logging to DIR/NAME.log; returns its pid. */
function background(dir: string, name: string, args: string[]): number {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [portico, ...args], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  return child.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function waitForIPs(
  kc: KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<string[]> {
  const api = kc.makeApiClient(CoreV1Api);
  let ips: string[] = [];
  await waitFor(
    async () => {
      const svc = await api.readNamespacedService({ namespace, name });
      ips = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
      return ips.length > 0;
    },
    timeoutMs,
    `an IP for ${namespace}/${name}`,
  );
  return ips;
}

const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
