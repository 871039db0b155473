import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from './scripts/eslint/package-boundaries.js';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Idle memory of the long-running processes (issue 12, test/process-modules.test.ts).
    files: [
      'packages/{allocator,bgp,config,controller,ingress,kube,layer2,native,speaker}/src/**/*.ts',
      'packages/cli/src/{main,logger,args,command}.ts',
      'packages/cli/src/commands/{controller,speaker,ingress,ingress-primary}.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:http',
              allowTypeImports: true,
              message:
                "an ES import of node:http loads Node's bundled undici (about 4-12 MiB): use the package's node-http.ts",
            },
            {
              name: 'undici',
              allowTypeImports: true,
              message:
                'undici costs about 7 MiB a process: load it on first use (ingress/src/lazy-undici.ts)',
            },
          ],
        },
      ],
    },
  },
  {
    // Package tests use the CLI as a user does (its binary), never its internals.
    files: ['packages/*/test/**'],
    ignores: ['packages/cli/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)cli/(src|dist)(/|$)',
              message: "package tests run the CLI's binary (packages/cli/bin/portico.js), not its internals",
            },
          ],
        },
      ],
    },
  },
  {
    // The package graph stays visible: another package is reached by its name, and only tests
    // import test code (scripts/eslint/package-boundaries.js).
    plugins: { portico: boundaries },
    rules: {
      'portico/no-relative-cross-package': 'error',
      'portico/no-test-imports-outside-tests': 'error',
    },
  },
  {
    // The address codec is the bottom of the package graph: everything may use it, it uses nothing of ours.
    files: ['packages/net/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['@portico/*'], message: '@portico/net depends on no other Portico package.' }],
        },
      ],
    },
  },
);
