/**
 * `portico lab up`, step by step: network, router, control plane, nodes, speakers, the
 * kube-proxy stand-ins, demo pods and Services, the ingress, then a request from the client.
 * Every step records what it made in the state file first, so `lab down` can undo a partial run.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  GATEWAY_API_VERSION,
  gatewayApiCrdFiles,
  installGatewayApiCrds,
  installMetallbCrds,
} from '@portico/dev-kube-apiserver';
import { ApiClient, kubeconfigCredentials } from '@portico/kube';
import { startSpeaker } from './speaker.js';
import { freePort, kubeDataDir, prepareKubeApiServer, startApiServer } from './apiserver.js';
import {
  DEMO_GATEWAY,
  DEMO_HOST,
  DEMO_SERVICES,
  demoIngressObject,
  gatewayObjects,
  INGRESS_SERVICE,
  ingressClassObject,
  namespaceObject,
  nodeObjects,
  poolResources,
  poolsConfigMap,
} from './objects.js';
import { CLIENT, NODES, PINNED_POOL, POOLS, PORTS, poolConfig, ROUTER, SEGMENT } from './plan.js';
import { detectRouter, establishedSessions, INSTALL_HINT, type RouterKind, startRouter } from './router.js';
import { allocatedIps, bracket, gatewayAddresses } from './services.js';
import { netnsExec, run } from '@portico/testbed';
import { background, labProgram, nodeInNetns, PORTICO, shippedNodeFlags, waitFor } from './shell.js';
import { readState, writeState, type ApiServerKind, type ConfigSourceKind, type LabState } from './state.js';
import { createTopology, existingNamespaces } from './topology.js';
import { addService, startPod, syncEndpoints, type Lab } from './workloads.js';

export interface UpOptions {
  dir: string;
  /** Which router to run: the installed one (FRR preferred), a given one, or none (layer 2 only). */
  router: 'auto' | RouterKind | 'none';
  /** Which API server to run: the embedded development one (default) or a real kube-apiserver. */
  apiServer: ApiServerKind;
  /**
   * Where the pools are written: metallb.io resources (the default, as MetalLB 0.13+ users
   * configure it) or MetalLB's v0.12 ConfigMap (`--config-map`).
   */
  configSource?: ConfigSourceKind;
  /** Print progress (the CLI) or stay quiet (tests). */
  say: (line: string) => void;
}

const step = (o: UpOptions, text: string) => o.say(`==> ${text}`);

/** Preconditions with a message a user can act on, or undefined when all is well. */
export function checkPrerequisites(dir: string, apiServer: ApiServerKind = 'dev'): string | undefined {
  if (process.getuid?.() !== 0)
    return 'portico lab up needs root: it creates network namespaces (try `sudo npx portico lab up`)';
  const tools: Array<[string, string]> = [
    ['ip', 'iproute2'],
    ['curl', 'curl'],
    // The real control plane makes its serving certificate with openssl.
    ...(apiServer === 'kube' ? [['openssl', 'openssl'] as [string, string]] : []),
  ];
  for (const [tool, pkg] of tools)
    if (run('sh', ['-c', `command -v ${tool}`], { allowFail: true }).trim() === '')
      return `portico lab up${apiServer === 'kube' ? ' --apiserver kube' : ''} needs \`${tool}\` (apt-get install ${pkg})`;
  if (existsSync(join(dir, 'state.json')))
    return `a lab is already up (state in ${dir}); run \`portico lab down\` first`;
  const left = existingNamespaces();
  if (left.length > 0)
    return `network namespaces from an earlier lab remain (${left.join(', ')}); run \`portico lab down\``;
  return undefined;
}

/** Builds the lab. Throws on failure (the state file then tells `down` what to remove). */
export async function labUp(o: UpOptions): Promise<LabState> {
  const { dir } = o;
  // Before anything is made: a missing Go (or a failing build) stops `up` with nothing to undo.
  let kube: { version: string; kubectl: string } | undefined;
  if (o.apiServer === 'kube') {
    step(o, 'finding the pinned kube-apiserver, etcd and kubectl (built with Go on first use)');
    kube = await prepareKubeApiServer(o.say);
  }

  // The Gateway API CRDs come from the sigs.k8s.io/gateway-api Go module, as in the tests: without
  // Go the lab shows no Gateway (like the BGP half without a router). Fetched now, before the
  // segment exists: its host route covers 203.0.113.0/24, where a sandbox may keep its own
  // services (a Go module proxy was seen at 203.0.113.80); later the module cache answers.
  const withGateway = run('sh', ['-c', 'command -v go'], { allowFail: true }).trim() !== '';
  if (withGateway) {
    step(o, `fetching the Gateway API CRDs (${GATEWAY_API_VERSION}, Go module) into Go's module cache`);
    await gatewayApiCrdFiles({ progress: o.say });
  }

  mkdirSync(dir, { recursive: true });
  const configSource = o.configSource ?? 'resources';
  const state: LabState = {
    dir,
    kubeconfig: join(dir, 'kubeconfig'),
    configSource,
    pids: {},
    pods: [],
    services: [],
  };
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

  if (o.apiServer === 'dev')
    step(o, `starting the development API server on ${SEGMENT.host4} (reachable from the node namespaces)`);
  else
    step(
      o,
      `starting kube-apiserver ${kube!.version} and etcd (data in ${kubeDataDir(dir)}), relayed on ${SEGMENT.host4}`,
    );
  const api = await startApiServer(o.apiServer, state, save);
  const lab: Lab = { state, api };
  o.say(`    ${state.apiServer!.url} answers, version ${state.apiServer!.version}`);

  // A real API server refuses objects (and the controller's Lease) in a namespace that does not exist.
  step(o, 'creating the namespaces default and portico-system');
  for (const ns of ['default', 'portico-system']) await api.apply(namespaceObject(ns));

  // Before the controller and the speakers start: a kind they find unserved is looked for again
  // only a minute later. Installed in both modes, as manifests/ installs them; the speakers write
  // ServiceL2Status and ServiceBGPStatus objects either way.
  step(o, 'installing the metallb.io CRDs from manifests/crds');
  await withApiClient(state.kubeconfig, installMetallbCrds);

  step(o, 'starting the controller');
  state.pids.controller = background(
    process.execPath,
    [
      ...shippedNodeFlags('controller'),
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

  step(o, `registering the nodes ${NODES.map((n) => n.name).join(', ')}`);
  for (const node of nodeObjects()) await api.apply(node);
  if (configSource === 'configmap') {
    step(o, 'writing the address pools as the ConfigMap portico-system/config (MetalLB v0.12 format)');
    await api.apply(poolsConfigMap());
    o.say(poolConfig().replace(/^/gm, '    ').trimEnd());
  } else {
    step(o, 'writing the address pools as metallb.io resources in portico-system');
    for (const resource of poolResources()) {
      await api.apply(resource);
      o.say(`    ${resource.kind} ${resource.metadata.name}`);
    }
  }

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

  // No router: no BGP demo. The ConfigMap cannot express the pinned pool: no pinned demo.
  const services = DEMO_SERVICES.filter(
    (s) =>
      (kind || s.pool !== POOLS.bgp.name) && (configSource === 'resources' || s.pool !== PINNED_POOL.name),
  );
  for (const s of services) {
    step(o, `creating the LoadBalancer Service ${s.namespace}/${s.name} (pool ${s.pool})`);
    await addService(lab, s);
  }

  if (withGateway) {
    step(o, `installing the Gateway API CRDs (${GATEWAY_API_VERSION} standard channel)`);
    await withApiClient(state.kubeconfig, (client) => installGatewayApiCrds(client));
  } else
    o.say('!!  Go is not installed: the Gateway part of the lab is skipped (its CRDs come from a Go module)');

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
      // Each Gateway gets a LoadBalancer Service in front of this pod; it serves the listeners on its IP.
      ...(withGateway ? ['--gateway-services'] : []),
    ],
  });
  await api.apply(demoIngressObject());
  await syncEndpoints(lab);
  if (withGateway) {
    step(
      o,
      `creating the Gateway ${DEMO_GATEWAY.namespace}/${DEMO_GATEWAY.name} (listener on port ${DEMO_GATEWAY.port}, pool ${DEMO_GATEWAY.pool}) and an HTTPRoute to the demo app`,
    );
    for (const obj of gatewayObjects()) await api.apply(obj);
    state.gateway = { namespace: DEMO_GATEWAY.namespace, name: DEMO_GATEWAY.name };
    save();
  }

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

  let gatewayIps: string[] = [];
  if (withGateway) {
    await waitFor(
      async () => (await gatewayAddresses(api, DEMO_GATEWAY.namespace, DEMO_GATEWAY.name)).length > 0,
      30_000,
      `an address in the status of the Gateway ${DEMO_GATEWAY.namespace}/${DEMO_GATEWAY.name}`,
    );
    gatewayIps = await gatewayAddresses(api, DEMO_GATEWAY.namespace, DEMO_GATEWAY.name);
    step(o, `the Gateway ${DEMO_GATEWAY.namespace}/${DEMO_GATEWAY.name} got ${gatewayIps.join(' and ')}`);
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
  if (withGateway) {
    step(o, `through the Gateway, at its own address`);
    for (const ip of gatewayIps) {
      const url = `http://${bracket(ip)}/`;
      o.say(`    ip netns exec ${CLIENT} curl ${url}`);
      o.say(`    ${await clientRequest(url)}`);
    }
  }

  // The kube-apiserver build comes with its kubectl: no other install needed to look around.
  const kubectl = kube ? kube.kubectl : 'kubectl';
  o.say(
    `\nThe lab is up. Point kubectl at it:\n    export KUBECONFIG=${state.kubeconfig}\n    ${kubectl} get services -A`,
  );
  o.say(`Logs are in ${dir}. \`portico lab status\` describes the lab, \`portico lab down\` removes it.`);
  return state;
}

/** Runs F with a client of @portico/kube for the lab's kubeconfig, closed after. */
async function withApiClient(kubeconfig: string, f: (client: ApiClient) => Promise<void>): Promise<void> {
  const client = new ApiClient(kubeconfigCredentials(readFileSync(kubeconfig, 'utf8'), dirname(kubeconfig)));
  await f(client).finally(() => client.close());
}

/** GET URL from the client namespace, retrying for up to 30 s (announcements take a moment). */
export async function clientRequest(url: string, host?: string): Promise<string> {
  const args = ['-s', '-f', '-m', '2', ...(host ? ['-H', `Host: ${host}`] : []), url];
  let body = '';
  await waitFor(
    () => {
      body = netnsExec(CLIENT, 'curl', args, { allowFail: true }).trim();
      return body !== '';
    },
    30_000,
    `${url} to answer the client`,
    250,
  );
  return body;
}

export { readState };
