/**
 * `portico lab up`, step by step: network, router, control plane, nodes, speakers, the
 * kube-proxy stand-ins, demo pods and Services, the ingress, then a request from the client.
 * Every step records what it made in the state file first, so `lab down` can undo a partial run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startSpeaker } from './speaker.js';
import { LabApi } from './api.js';
import {
  DEMO_HOST,
  DEMO_SERVICES,
  demoIngressObject,
  INGRESS_SERVICE,
  ingressClassObject,
  namespaceObject,
  nodeObjects,
  poolsConfigMap,
} from './objects.js';
import { CLIENT, NODES, POOLS, PORTS, poolConfig, ROUTER, SEGMENT } from './plan.js';
import { detectRouter, establishedSessions, INSTALL_HINT, type RouterKind, startRouter } from './router.js';
import { allocatedIps, bracket } from './services.js';
import { background, inNetns, labProgram, nodeInNetns, PORTICO, sh, waitFor } from './shell.js';
import { readState, writeState, type LabState } from './state.js';
import { createTopology, existingNamespaces } from './topology.js';
import { addService, startPod, syncEndpoints, type Lab } from './workloads.js';

export interface UpOptions {
  dir: string;
  /** Which router to run: the installed one (FRR preferred), a given one, or none (layer 2 only). */
  router: 'auto' | RouterKind | 'none';
  /** Print progress (the CLI) or stay quiet (tests). */
  say: (line: string) => void;
}

const step = (o: UpOptions, text: string) => o.say(`==> ${text}`);

/** Preconditions with a message a user can act on, or undefined when all is well. */
export function checkPrerequisites(dir: string): string | undefined {
  if (process.getuid?.() !== 0)
    return 'portico lab up needs root: it creates network namespaces (try `sudo npx portico lab up`)';
  for (const tool of ['ip', 'curl'])
    if (sh('sh', ['-c', `command -v ${tool}`], { allowFail: true }).trim() === '')
      return `portico lab up needs \`${tool}\` (apt-get install iproute2 curl)`;
  if (existsSync(join(dir, 'state.json')))
    return `a lab is already up (state in ${dir}); run \`portico lab down\` first`;
  const left = existingNamespaces();
  if (left.length > 0)
    return `network namespaces from an earlier lab remain (${left.join(', ')}); run \`portico lab down\``;
  return undefined;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Builds the lab. Throws on failure (the state file then tells `down` what to remove). */
export async function labUp(o: UpOptions): Promise<LabState> {
  const { dir } = o;
  mkdirSync(dir, { recursive: true });
  const state: LabState = { dir, kubeconfig: join(dir, 'kubeconfig'), pids: {}, pods: [], services: [] };
  writeState(state);
  const save = () => writeState(state);

  step(
    o,
    `creating network namespaces: ${[CLIENT, ROUTER, ...NODES.map((n) => n.name)].join(', ')} and the segment`,
  );
  createTopology();

  const kind = o.router === 'auto' ? detectRouter() : o.router === 'none' ? undefined : o.router;
  if (kind) {
    step(o, `starting the router in ${ROUTER} (${kind === 'frr' ? 'FRR zebra + bgpd' : 'BIRD 2'})`);
    state.router = kind;
    save();
    await startRouter(kind, join(dir, 'router'));
  } else {
    const why =
      o.router === 'none' ? 'no router asked for (--router none)' : 'neither FRR nor BIRD is installed';
    o.say(`!!  ${why}: the BGP part of the lab is skipped; for it: ${INSTALL_HINT}`);
  }

  step(o, `starting the development API server on ${SEGMENT.host4} (reachable from the node namespaces)`);
  const apiPort = await freePort(SEGMENT.host4);
  state.apiServer = `http://${SEGMENT.host4}:${apiPort}`;
  state.pids.apiserver = background(
    process.execPath,
    [
      PORTICO,
      'dev',
      'apiserver',
      '--host',
      SEGMENT.host4,
      '--port',
      String(apiPort),
      '--kubeconfig-out',
      state.kubeconfig,
    ],
    join(dir, 'apiserver.log'),
  );
  save();
  await waitFor(
    async () => existsSync(state.kubeconfig) && (await fetch(`${state.apiServer}/readyz`)).ok,
    20_000,
    'the API server',
  );
  const api = LabApi.fromKubeconfig(state.kubeconfig);
  const lab: Lab = { state, api };

  step(o, 'starting the controller');
  state.pids.controller = background(
    process.execPath,
    [
      PORTICO,
      'controller',
      '--kubeconfig',
      state.kubeconfig,
      '--metrics-port',
      String(await freePort('127.0.0.1')),
    ],
    join(dir, 'controller.log'),
  );
  save();

  step(o, `registering the nodes ${NODES.map((n) => n.name).join(', ')} and writing the address pools`);
  for (const ns of ['default', 'portico-system']) await api.apply(namespaceObject(ns));
  for (const node of nodeObjects()) await api.apply(node);
  await api.apply(poolsConfigMap());
  o.say(poolConfig().replace(/^/gm, '    ').trimEnd());

  step(o, 'starting a speaker in every node namespace');
  for (const node of NODES) state.pids[`speaker-${node.name}`] = startSpeaker(state, node.name);
  step(o, 'starting the kube-proxy stand-in in every node namespace');
  for (const node of NODES)
    state.pids[`proxy-${node.name}`] = nodeInNetns(
      node.name,
      labProgram('node-proxy'),
      [state.kubeconfig, node.name],
      join(dir, `proxy-${node.name}.log`),
    );
  save();

  step(o, 'starting the demo app: one pod per node');
  for (const [i, node] of NODES.entries())
    await startPod(lab, {
      namespace: 'default',
      name: `demo-${i + 1}`,
      labels: { app: 'demo' },
      node: node.name,
      port: PORTS.pod,
    });

  const services = kind ? DEMO_SERVICES : DEMO_SERVICES.filter((s) => s.pool !== POOLS.bgp.name);
  for (const s of services) {
    step(o, `creating the LoadBalancer Service ${s.namespace}/${s.name} (pool ${s.pool})`);
    await addService(lab, s);
  }

  step(
    o,
    'starting the ingress (a pod on the first node) with its LoadBalancer Service portico-system/ingress',
  );
  await addService(lab, INGRESS_SERVICE);
  await api.apply(ingressClassObject());
  const ingressNode = NODES[0]!;
  await startPod(lab, {
    namespace: 'portico-system',
    name: 'ingress',
    labels: INGRESS_SERVICE.selector,
    node: ingressNode.name,
    port: PORTS.ingressHttp,
    portico: (ip) => [
      'ingress',
      '--kubeconfig',
      state.kubeconfig,
      '--listen-address',
      ip,
      '--http-port',
      String(PORTS.ingressHttp),
      '--https-port',
      String(PORTS.ingressHttps),
      '--metrics-port',
      String(PORTS.ingressMetrics),
      '--workers',
      '0',
      '--no-leader-elect',
      '--no-access-log',
    ],
  });
  await api.apply(demoIngressObject());
  await syncEndpoints(lab);

  const allocated: Record<string, string[]> = {};
  for (const s of [...services, INGRESS_SERVICE]) {
    await waitFor(
      async () => (await allocatedIps(api, s.namespace, s.name)).length > 0,
      30_000,
      `an IP for ${s.namespace}/${s.name}`,
    );
    allocated[`${s.namespace}/${s.name}`] = await allocatedIps(api, s.namespace, s.name);
    step(o, `${s.namespace}/${s.name} got ${allocated[`${s.namespace}/${s.name}`]!.join(' and ')}`);
  }

  if (kind) {
    step(o, 'waiting for the BGP sessions with the router');
    await waitFor(
      () => establishedSessions(kind, join(dir, 'router')) >= NODES.length,
      30_000,
      'BGP sessions to come up',
      250,
    );
  }

  step(o, `requesting the demo app from the client (${CLIENT})`);
  for (const s of services)
    for (const ip of allocated[`${s.namespace}/${s.name}`]!) {
      const url = `http://${bracket(ip)}/`;
      o.say(`    ip netns exec ${CLIENT} curl ${url}`);
      o.say(`    ${await clientRequest(url)}`);
    }
  const ingressIp = allocated[`${INGRESS_SERVICE.namespace}/${INGRESS_SERVICE.name}`]![0]!;
  const viaIngress = `http://${bracket(ingressIp)}/`;
  step(o, `through the ingress, with the Host header of the demo Ingress`);
  o.say(`    ip netns exec ${CLIENT} curl -H 'Host: ${DEMO_HOST}' ${viaIngress}`);
  o.say(`    ${await clientRequest(viaIngress, DEMO_HOST)}`);

  o.say(
    `\nThe lab is up. Point kubectl at it:\n    export KUBECONFIG=${state.kubeconfig}\n    kubectl get services -A`,
  );
  o.say(`Logs are in ${dir}. \`portico lab status\` describes the lab, \`portico lab down\` removes it.`);
  return state;
}

/** GET URL from the client namespace, retrying for up to 30 s (announcements take a moment). */
export async function clientRequest(url: string, host?: string): Promise<string> {
  const args = ['-s', '-f', '-m', '2', ...(host ? ['-H', `Host: ${host}`] : []), url];
  let body = '';
  await waitFor(
    () => {
      body = inNetns(CLIENT, 'curl', args, { allowFail: true }).trim();
      return body !== '';
    },
    30_000,
    `${url} to answer the client`,
    250,
  );
  return body;
}

export { readState };
