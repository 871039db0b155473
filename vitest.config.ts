import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * End-to-end suites: they need root and build network namespaces, links and routers in the
 * kernel, which every suite shares, so they run one file at a time, after the unit tests.
 */
const E2E = ['test/e2e/**/*.test.ts', 'packages/*/test/e2e-*.test.ts'];

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, so no build is needed to test.
    // A subpath export (@portico/layer2/testing) is the source file of the same name.
    alias: [
      { find: /^@portico\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/index.ts` },
      { find: /^@portico\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/$2.ts` },
    ],
  },
  test: {
    // Builds the real kube-apiserver the integration tests use (cached after the first run), and
    // the packages, once, before any file runs.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...E2E],
          // Unit, property and integration files are independent (port 0, their own temporary
          // directories and API servers): they run in parallel.
          fileParallelism: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          // Network-namespace suites share kernel state (names, bridges, routers): one file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
