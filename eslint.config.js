import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
);
