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
    // Only tests import from test directories: the product, benchmarks and scripts never do.
    files: ['packages/*/src/**', 'packages/*/bench/**', 'packages/*/bin/**', 'scripts/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)test(/|$)',
              message:
                'only tests import from test/: move what is shared into a package (e.g. @portico/testbed)',
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
);
