/**
 * Every name imported from a package's index exists in that index's export list.
 *
 * `tsc -b` checks the packages' sources but not their tests, benchmarks and scripts, so a name
 * missing from an explicit export list would otherwise surface only when that file runs (a CI run
 * failed that way once). This reads every tracked TypeScript and JavaScript file and checks its
 * named imports (static, and `const { a } = await import(...)`) of `@portico/<package>`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

/** The export names of every package index, from one program (one per index would be slow). */
function exportsByPackage(): Map<string, Set<string>> {
  const indexes = new Map<string, string>();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const index = join(root, 'packages', dir, 'src', 'index.ts');
    const manifest = join(root, 'packages', dir, 'package.json');
    if (existsSync(index) && existsSync(manifest))
      indexes.set((JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name, index);
  }
  const program = ts.createProgram([...indexes.values()], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exported = new Map<string, Set<string>>();
  for (const [name, index] of indexes) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
    exported.set(name, new Set(checker.getExportsOfModule(module).map((symbol) => symbol.name)));
  }
  return exported;
}

/** The `@portico/*` names a source imports by name, as [specifier, name] pairs. */
export function namedImports(fileName: string, text: string): [string, string][] {
  const found: [string, string][] = [];
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const bindings = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
      if (bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings)))
        for (const element of bindings.elements)
          found.push([node.moduleSpecifier.text, (element.propertyName ?? element.name).getText(source)]);
    }
    if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer &&
      ts.isAwaitExpression(node.initializer) &&
      ts.isCallExpression(node.initializer.expression) &&
      node.initializer.expression.expression.kind === ts.SyntaxKind.ImportKeyword
    ) {
      const specifier = node.initializer.expression.arguments[0];
      if (specifier && ts.isStringLiteral(specifier))
        for (const element of node.name.elements)
          found.push([specifier.text, (element.propertyName ?? element.name).getText(source)]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter(([specifier]) => /^@portico\/[^/]+$/.test(specifier));
}

describe('names imported from package indexes', () => {
  it('finds a name the index does not export (control case)', () => {
    const text = `import { compile, noSuchName } from '@portico/ingress';\nconst { deep } = await import('@portico/net');`;
    expect(namedImports('x.ts', text)).toEqual([
      ['@portico/ingress', 'compile'],
      ['@portico/ingress', 'noSuchName'],
      ['@portico/net', 'deep'],
    ]);
  });

  it('are all exported, in every tracked file', () => {
    const exported = exportsByPackage();
    expect(exported.get('@portico/ingress')?.has('compile')).toBe(true);
    expect(exported.get('@portico/ingress')?.has('noSuchName')).toBe(false);
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.js', '*.mjs'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => file && !file.includes('/dist/') && existsSync(join(root, file)));
    const missing: string[] = [];
    for (const file of files)
      for (const [specifier, name] of namedImports(file, readFileSync(join(root, file), 'utf8')))
        if (exported.has(specifier) && !exported.get(specifier)!.has(name))
          missing.push(`${file}: ${name} is not exported by ${specifier}`);
    expect(missing).toEqual([]);
  }, 120_000);
});
