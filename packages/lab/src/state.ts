/**
 * The lab's state file (DIR/state.json): what `lab up` made, so `lab status` can describe it and
 * `lab down` can remove it. It is written after every step, so a crashed `up` leaves enough behind
 * for `down` to clean up.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RouterKind } from './router.js';

export const DEFAULT_DIR = '/tmp/portico-lab';

export interface LabPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  node: string;
  ip: string;
  port: number;
  pid: number;
  /** Set while the pod is shutting down (its endpoint is then `terminating`, not `ready`). */
  terminating?: boolean;
}

export interface LabService {
  namespace: string;
  name: string;
  /** The pods' label selector (the lab's endpoints controller matches on it). */
  selector: Record<string, string>;
  port: number;
  targetPort: number;
}

/** Which API server the lab runs: the embedded development one, or a real kube-apiserver. */
export type ApiServerKind = 'dev' | 'kube';

export interface LabApiServer {
  kind: ApiServerKind;
  /** Where the lab's components reach it (on the segment, 203.0.113.254). */
  url: string;
  /** What its /version answered (gitVersion), e.g. `v1.36.3`. */
  version: string;
}

export type ConfigSourceKind = 'resources' | 'configmap';

export interface LabState {
  dir: string;
  kubeconfig: string;
  /** Set once the API server answers; until then only its pid (`pids.apiserver`) is known. */
  apiServer?: LabApiServer;
  router?: RouterKind;
  /**
   * Where the pools are configured: `resources` (metallb.io IPAddressPools, advertisements and
   * BGPPeers, the default) or `configmap` (MetalLB's v0.12 ConfigMap portico-system/config).
   */
  configSource?: ConfigSourceKind;
  /**
   * Long-running processes by role (apiserver: the development API server, or the process that
   * runs kube-apiserver and etcd; controller, speaker-plab-n1, proxy-plab-n1, ...).
   */
  pids: Record<string, number>;
  pods: LabPod[];
  services: LabService[];
  /** The demo Gateway, once made (not without Go: the Gateway API CRDs come from its module). */
  gateway?: { namespace: string; name: string };
}

export const stateFile = (dir: string) => join(dir, 'state.json');

export function readState(dir: string): LabState | undefined {
  const file = stateFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LabState) : undefined;
}

export function writeState(state: LabState): void {
  writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}
