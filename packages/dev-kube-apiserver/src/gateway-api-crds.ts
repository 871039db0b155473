/**
 * The Gateway API CustomResourceDefinitions for tests, taken from the `sigs.k8s.io/gateway-api` Go
 * module (the module proxy is the only source, as for the kube-apiserver build) instead of a copy in
 * our repository. `go mod download` keeps the module in Go's module cache, so after the first call
 * this is a lookup of a few hundred milliseconds.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type ApiClient, applyObject } from '@portico/kube';
import { parseAllDocuments } from 'yaml';
import { findGo } from './build.js';

/** The Gateway API release our Gateway support is written against. */
export const GATEWAY_API_VERSION = 'v1.5.1';

export interface GatewayApiCrdOptions {
  /** `standard` (the default, what we support) or `experimental`. */
  channel?: 'standard' | 'experimental';
  version?: string;
  progress?: (line: string) => void;
}

/**
 * Downloads (or finds in Go's module cache) a gateway-api module and returns its directory:
 * `sigs.k8s.io/gateway-api` (APIs, CRDs) or `sigs.k8s.io/gateway-api/conformance` (the conformance
 * tests' manifests and expectations, a module of its own since v1.5).
 */
export async function gatewayApiModuleDir(
  version = GATEWAY_API_VERSION,
  progress: (line: string) => void = () => {},
  module = 'sigs.k8s.io/gateway-api',
): Promise<string> {
  const { go } = await findGo();
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await promisify(execFile)(
        go,
        ['mod', 'download', '-json', `${module}@${version}`],
        // Outside any module, and without our workspace: the download needs neither.
        { cwd: tmpdir(), env: { ...process.env, GOWORK: 'off', GOFLAGS: '-mod=mod' } },
      );
      const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
      if (!info.Dir) throw new Error(info.Error ?? `go mod download gave no directory: ${stdout}`);
      return info.Dir;
    } catch (err) {
      // `go mod download -json` reports failures in the JSON on stdout with a non-zero exit.
      const text = String(err) + String((err as { stdout?: string }).stdout ?? '');
      if (
        attempt === 3 ||
        !/dial tcp|i\/o timeout|connection (reset|refused)|TLS handshake|no such host/.test(text)
      )
        throw new Error(`go mod download ${module}@${version} failed: ${text}`, { cause: err });
      progress(`the Go module proxy did not answer (attempt ${attempt} of 3); retrying in 30 s`);
      await new Promise((r) => setTimeout(r, 30_000));
    }
  }
}

/** The paths of the release's CRD files (`config/crd/<channel>/*.yaml`), sorted. */
export async function gatewayApiCrdFiles(options: GatewayApiCrdOptions = {}): Promise<string[]> {
  const dir = join(
    await gatewayApiModuleDir(options.version, options.progress),
    'config',
    'crd',
    options.channel ?? 'standard',
  );
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no CRD files in ${dir}`);
  return files;
}

/** The conformance module's directory (tests/*.yaml, tests/*.go, base/manifests.yaml). */
export function gatewayApiConformanceDir(version = GATEWAY_API_VERSION): Promise<string> {
  return gatewayApiModuleDir(version, undefined, 'sigs.k8s.io/gateway-api/conformance');
}

/**
 * Installs the release's CRDs (standard channel) on an API server and waits until the API server
 * serves the kinds Portico reads: a real kube-apiserver serves a new CRD's endpoints only once it is
 * Established, a moment after the create.
 */
export async function installGatewayApiCrds(
  api: ApiClient,
  options: GatewayApiCrdOptions = {},
): Promise<void> {
  for (const file of await gatewayApiCrdFiles(options))
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as KubernetesObject | null;
      if (crd?.kind === 'CustomResourceDefinition') await applyObject(api, crd);
    }
  const group = 'gateway.networking.k8s.io';
  const kinds = [
    ['v1', 'gatewayclasses'],
    ['v1', 'gateways'],
    ['v1', 'httproutes'],
    ['v1', 'grpcroutes'],
    ['v1', 'tlsroutes'],
    ['v1beta1', 'referencegrants'],
  ] as const;
  const deadline = Date.now() + 60_000;
  for (const [version, plural] of kinds)
    for (;;) {
      try {
        await api.request('GET', `/apis/${group}/${version}/${plural}`, { query: { limit: 1 } });
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(
            `the API server does not serve ${plural}.${group}/${version} 60 s after installing the CRDs`,
            { cause: err },
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    }
}
