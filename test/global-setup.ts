/**
 * Before any test: build (or find in the cache) the pinned kube-apiserver, etcd and kubectl that
 * the integration tests run against, so a cold build (minutes) is paid once, with progress, and
 * never inside a test's timeout. Without Go this fails the run at once, saying what to install.
 */
import { ensureBinaries } from '@portico/dev-kube-apiserver';

export default async function setup(): Promise<void> {
  const started = Date.now();
  const binaries = await ensureBinaries({
    progress: (line) => process.stderr.write(`[kube-apiserver] ${line}\n`),
  });
  process.stderr.write(
    `[kube-apiserver] Kubernetes ${binaries.version} binaries ready in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
}
