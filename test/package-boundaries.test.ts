/**
 * The lint rules that keep the package graph visible (scripts/eslint/package-boundaries.js): each
 * case lints a one-line file placed at a path in the repository and checks which rule fires.
 */
import { Linter } from 'eslint';
import { describe, expect, it } from 'vitest';
import boundaries from '../scripts/eslint/package-boundaries.js';

const root = new URL('../', import.meta.url).pathname;

function ruleIds(path: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    code,
    [
      {
        files: ['**/*.ts'],
        plugins: { portico: boundaries },
        rules: {
          'portico/no-relative-cross-package': 'error',
          'portico/no-test-imports-outside-tests': 'error',
        },
      },
    ],
    `${root}${path}`,
  );
  return messages.map((message) => message.ruleId ?? message.message);
}

describe('package boundaries lint rules', () => {
  it.each([
    ['packages/speaker/src/a.ts', "import { x } from './b.js';", []],
    [
      'packages/speaker/src/a.ts',
      "import { x } from '../test/fakes.js';",
      ['portico/no-test-imports-outside-tests'],
    ],
    [
      'packages/speaker/src/a.ts',
      "import { x } from '../../bgp/src/prefix.js';",
      ['portico/no-relative-cross-package'],
    ],
    ['packages/speaker/test/a.test.ts', "import { x } from '../src/speaker.js';", []],
    [
      'packages/speaker/test/a.test.ts',
      "import { x } from '../../layer2/test/fakes.js';",
      ['portico/no-relative-cross-package'],
    ],
    [
      'packages/speaker/bench/a.ts',
      "import { x } from '../../controller/bench/measure.js';",
      ['portico/no-relative-cross-package'],
    ],
    [
      'packages/layer2/bench/a.ts',
      "export * from '../test/fakes.js';",
      ['portico/no-test-imports-outside-tests'],
    ],
    [
      'test/e2e/bgp/a.test.ts',
      "import { x } from '../../../packages/bgp/src/prefix.js';",
      ['portico/no-relative-cross-package'],
    ],
    ['test/e2e/bgp/a.test.ts', "import { x } from '../harness.js';", []],
    [
      'scripts/a.ts',
      "const m = await import('../packages/dev-apiserver/dist/index.js');",
      ['portico/no-relative-cross-package'],
    ],
    ['packages/cli/src/a.ts', "const m = await import('@portico/lab');", []],
    ['test/a.test.ts', "import rules from '../scripts/eslint/package-boundaries.js';", []],
  ])('%s: %s', (path, code, expected) => {
    expect(ruleIds(path, code)).toEqual(expected);
  });
});
