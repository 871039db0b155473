/**
 * Before any test: build (or find in the cache) the pinned kube-apiserver, etcd and kubectl that
 * the integration tests run against, so a cold build (minutes) is paid once, with progress, and
 * never inside a test's timeout. Without Go this fails the run at once, saying what to install.
 *
 * Then fetch the Gateway API modules (CRDs, conformance) into Go's module cache: once tests have
 * made their network namespaces and segments, the host's routes may no longer reach the module
 * proxy (the lab's segment is 203.0.113.0/24, a documentation range a sandbox may also use for its
 * own services), so no test should be the first to download them.
 *
 * Then build the packages (`tsc -b`, nothing to do when `npm test` just did): tests that run the
 * built CLI call `tsc -b packages/cli` themselves, and with files in parallel two such builds
 * must not write the same outputs at once; after this one they find nothing to write.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBinaries, gatewayApiConformanceDir, gatewayApiModuleDir } from '@portico/dev-kube-apiserver';

const root = fileURLToPath(new URL('../', import.meta.url));

export default async function setup(): Promise<void> {
  const started = Date.now();
  const binaries = await ensureBinaries({
    progress: (line) => process.stderr.write(`[kube-apiserver] ${line}\n`),
  });
  process.stderr.write(
    `[kube-apiserver] Kubernetes ${binaries.version} binaries ready in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  const fetched = Date.now();
  await gatewayApiModuleDir();
  await gatewayApiConformanceDir();
  process.stderr.write(`[gateway-api] modules ready in ${Math.round((Date.now() - fetched) / 1000)} s\n`);
  const built = Date.now();
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b'], {
    cwd: root,
    stdio: 'inherit',
  });
  process.stderr.write(`[build] tsc -b done in ${Math.round((Date.now() - built) / 1000)} s\n`);
}
