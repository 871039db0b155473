import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, so no build is needed to test.
    alias: [{ find: /^@portico\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/index.ts` }],
  },
  test: {
    // Builds the real kube-apiserver the integration tests use (cached after the first run).
    globalSetup: ['test/global-setup.ts'],
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Network-namespace tests share kernel state (names, bridges); keep files serial.
    fileParallelism: false,
  },
});
