/**
 * The lab's kubelet and endpoints controller, reduced to what the demo needs: starting a pod (a
 * process in a node namespace with its own pod IP), writing its Pod object, stopping it gracefully
 * (its endpoint turns `terminating` first), and keeping one EndpointSlice per lab Service in step
 * with the pods its selector matches.
 */
import { join } from 'node:path';
import type { LabApi } from './api.js';
import { serviceObject, type ServiceSpec } from './objects.js';
import { NODES, podIp } from './plan.js';
import { netnsExec } from '@portico/testbed';
import { labProgram, nodeInNetns, PORTICO, stopGroup, waitFor } from './shell.js';
import { writeState, type LabPod, type LabState } from './state.js';
import { addPodAddress, removePodAddress } from './topology.js';

export interface Lab {
  state: LabState;
  api: LabApi;
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  node: string;
  port: number;
  /** Extra arguments: the pod runs `portico ARGS` (e.g. the ingress) instead of the demo server. */
  portico?: (ip: string) => string[];
}

/** The lowest pod address on NODE that no lab pod uses. */
function freePodIp(state: LabState, nodeName: string): string {
  const node = NODES.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node ${nodeName}`);
  for (let i = 1; i <= 14; i++) {
    const ip = podIp(node, i);
    if (!state.pods.some((p) => p.ip === ip)) return ip;
  }
  throw new Error(`${nodeName} has no free pod address`);
}

export async function startPod(lab: Lab, spec: PodSpec): Promise<LabPod> {
  const { state } = lab;
  const ip = freePodIp(state, spec.node);
  addPodAddress(spec.node, ip);
  const log = join(state.dir, `pod-${spec.namespace}-${spec.name}.log`);
  const pid = spec.portico
    ? nodeInNetns(spec.node, PORTICO, spec.portico(ip), log)
    : nodeInNetns(spec.node, labProgram('pod'), [spec.name, spec.node, ip, String(spec.port)], log);
  const pod: LabPod = {
    namespace: spec.namespace,
    name: spec.name,
    labels: spec.labels,
    node: spec.node,
    ip,
    port: spec.port,
    pid,
  };
  state.pods.push(pod);
  writeState(state);
  // Ready means listening: what a readiness probe would check.
  await waitFor(
    () => probe(spec.node, ip, spec.port),
    30_000,
    `pod ${spec.namespace}/${spec.name} to listen on ${ip}:${spec.port}`,
    200,
  );
  await writePod(lab, pod);
  await syncEndpoints(lab);
  return pod;
}

function probe(node: string, ip: string, port: number): boolean {
  const code = netnsExec(
    node,
    'curl',
    ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', `http://${ip}:${port}/`],
    {
      allowFail: true,
    },
  );
  return /^[1-5]\d\d$/.test(code.trim());
}

async function writePod(lab: Lab, pod: LabPod): Promise<void> {
  const node = NODES.find((n) => n.name === pod.node)!;
  const ready = !pod.terminating;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await lab.api.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
    spec: {
      nodeName: pod.node,
      containers: [{ name: 'app', image: 'lab', ports: [{ containerPort: pod.port }] }],
    },
    // What a kubelet reports for a running container (kubectl's READY column reads containerStatuses).
    status: {
      phase: 'Running',
      hostIP: node.ipv4,
      hostIPs: [{ ip: node.ipv4 }],
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      startTime: now,
      conditions: ['Ready', 'ContainersReady'].map((type) => ({ type, status: ready ? 'True' : 'False' })),
      containerStatuses: [
        {
          name: 'app',
          image: 'lab',
          imageID: '',
          ready,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        },
      ],
    },
  });
}

/** Stops a pod the way a kubelet does: endpoint terminating first, then SIGTERM, then gone. */
export async function stopPod(lab: Lab, namespace: string, name: string): Promise<void> {
  const { state } = lab;
  const pod = state.pods.find((p) => p.namespace === namespace && p.name === name);
  if (!pod) throw new Error(`no lab pod ${namespace}/${name}`);
  pod.terminating = true;
  writeState(state);
  await syncEndpoints(lab);
  await stopGroup(pod.pid);
  removePodAddress(pod.node, pod.ip);
  state.pods = state.pods.filter((p) => p !== pod);
  writeState(state);
  await lab.api.delete('v1', 'Pod', namespace, name);
  await syncEndpoints(lab);
}

const matches = (labels: Record<string, string>, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Writes each lab Service's EndpointSlice from the pods its selector matches. */
export async function syncEndpoints(lab: Lab): Promise<void> {
  for (const svc of lab.state.services) {
    const pods = lab.state.pods.filter(
      (p) => p.namespace === svc.namespace && matches(p.labels, svc.selector),
    );
    await lab.api.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${svc.name}-lab`,
        namespace: svc.namespace,
        labels: {
          'kubernetes.io/service-name': svc.name,
          'endpointslice.kubernetes.io/managed-by': 'portico-lab',
        },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: svc.targetPort, protocol: 'TCP' }],
      endpoints: pods.map((p) => ({
        addresses: [p.ip],
        nodeName: p.node,
        conditions: { ready: !p.terminating, serving: !p.terminating, terminating: p.terminating === true },
        targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name },
      })),
    });
  }
}

/** Creates a LoadBalancer Service and lets the lab's endpoints controller look after it. */
export async function addService(lab: Lab, s: ServiceSpec): Promise<void> {
  await lab.api.apply(serviceObject(s));
  const { namespace, name, selector, port, targetPort } = s;
  lab.state.services.push({ namespace, name, selector, port, targetPort });
  writeState(lab.state);
  await syncEndpoints(lab);
}
