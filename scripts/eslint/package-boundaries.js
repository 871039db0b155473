/**
 * ESLint rules for the package graph (issue 16):
 * - `no-relative-cross-package`: a relative import must stay inside its own package. Another package is reached by its name,
 *   `@portico/x`, so it is reached through the list that package exports and the graph stays visible.
 * - `no-test-imports-outside-tests`: only tests import from a `test/` folder; product code, benchmarks
 *   and scripts never depend on test set-up.
 */
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The unit an import must stay inside: `packages/<name>` for a package; everything outside
 * packages/ (the cross-package tests, scripts, the tool configuration) is the repository's own
 * tooling and one unit.
 */
function home(file) {
  const parts = relative(root, file).split(sep);
  return parts[0] === 'packages' ? parts.slice(0, 2).join('/') : 'the repository tooling';
}

function isInTestFolder(file) {
  return relative(root, file).split(sep).includes('test');
}

function packageName(file) {
  const parts = relative(root, file).split(sep);
  return parts[0] === 'packages' ? `@portico/${parts[1]}` : undefined;
}

/** Calls `check(node, specifier)` for every static import, re-export and dynamic import with a string. */
function forEachImport(check) {
  const visit = (node) => {
    if (node.source && typeof node.source.value === 'string') check(node.source, node.source.value);
  };
  return {
    ImportDeclaration: visit,
    ExportAllDeclaration: visit,
    ExportNamedDeclaration: visit,
    ImportExpression: visit,
  };
}

const noRelativeCrossPackage = {
  meta: {
    type: 'problem',
    docs: { description: 'relative imports stay inside their own package' },
    schema: [],
    messages: {
      crosses: "'{{specifier}}' leaves {{from}} for {{to}}: import {{suggestion}} instead.",
    },
  },
  create(context) {
    const file = resolve(context.filename);
    return forEachImport((node, specifier) => {
      if (!specifier.startsWith('.')) return;
      const target = resolve(dirname(file), specifier);
      if (home(target) === home(file)) return;
      context.report({
        node,
        messageId: 'crosses',
        data: {
          specifier,
          from: home(file),
          to: home(target),
          suggestion: packageName(target) ?? 'it through a package',
        },
      });
    });
  },
};

const noTestImportsOutsideTests = {
  meta: {
    type: 'problem',
    docs: { description: 'only tests import from test/ folders' },
    schema: [],
    messages: { testOnly: "'{{specifier}}' is test code; only files under a test/ folder may import it." },
  },
  create(context) {
    const file = resolve(context.filename);
    if (isInTestFolder(file)) return {};
    return forEachImport((node, specifier) => {
      if (!specifier.startsWith('.')) return;
      if (isInTestFolder(resolve(dirname(file), specifier))) {
        context.report({ node, messageId: 'testOnly', data: { specifier } });
      }
    });
  },
};

export default {
  meta: { name: 'portico-package-boundaries' },
  rules: {
    'no-relative-cross-package': noRelativeCrossPackage,
    'no-test-imports-outside-tests': noTestImportsOutsideTests,
  },
};
