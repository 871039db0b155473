/**
 * Which upstream conformance tests make up the GATEWAY-HTTP profile, read from the Go modules the
 * way the suite decides it (conformance/utils/suite/profiles.go, getConformanceProfilesForTest): a
 * test belongs to the profile when every feature it lists is one of the profile's core features or
 * is in one of the feature sets the profile takes as extended. A test is core when all its features
 * are core ones (the suite's isTestExtended). Everything is read from the module files, so a new
 * module version's new tests and features show up here without a change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayApiConformanceDir, gatewayApiModuleDir } from '@portico/dev-kube-apiserver';

export interface ProfileTest {
  /** The test's ShortName, as the suite's report names it. */
  readonly name: string;
  /** Its feature names (e.g. `HTTPRoutePortRedirect`). */
  readonly features: string[];
  /** Core: every feature is a core feature of the profile. */
  readonly core: boolean;
  readonly provisional: boolean;
  /** The Go file that defines it (`tests/<file>.go`). */
  readonly file: string;
  /** Its manifests (`tests/<name>.yaml`), by name, as conformanceState takes them. */
  readonly manifests: string[];
}

/** The text of the balanced `{ … }` that starts at `open`. */
function block(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{' || text[i] === '(') depth++;
    else if ((text[i] === '}' || text[i] === ')') && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced block at ${open}`);
}

/** Feature constants (`SupportX` -> "X") and feature sets (`XFeatures` -> names) of pkg/features. */
function readFeatures(featuresDir: string): { names: Map<string, string>; sets: Map<string, string[]> } {
  const go = readdirSync(featuresDir)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .map((f) => readFileSync(join(featuresDir, f), 'utf8'))
    .join('\n');
  const names = new Map<string, string>();
  for (const m of go.matchAll(/\b(Support\w+)\s*(?:FeatureName\s*)?=\s*"([^"]+)"/g)) names.set(m[1]!, m[2]!);
  // A Feature variable: `XFeature = Feature{ Name: SupportX, … }`.
  const featureVars = new Map<string, string>();
  for (const m of go.matchAll(/\b(\w+)\s*=\s*Feature\{\s*Name:\s*(Support\w+)/g)) {
    const name = names.get(m[2]!);
    if (name) featureVars.set(m[1]!, name);
  }
  const sets = new Map<string, string[]>();
  for (const m of go.matchAll(/\bvar\s+(\w+Features)\s*=\s*sets\.New\(/g)) {
    const body = block(go, m.index + m[0].length - 1);
    sets.set(
      m[1]!,
      [...body.matchAll(/\b(\w+)\s*,/g)].map((x) => {
        const name = featureVars.get(x[1]!);
        if (!name) throw new Error(`feature set ${m[1]} names ${x[1]}, which is not a Feature`);
        return name;
      }),
    );
  }
  return { names, sets };
}

/** Every test of the profile (default GATEWAY-HTTP) in the conformance module's tests/*.go. */
export async function profileTests(
  profile = 'GatewayHTTPConformanceProfile',
): Promise<{ tests: ProfileTest[]; coreFeatures: string[]; extendedFeatures: string[] }> {
  const conformance = await gatewayApiConformanceDir();
  const { names, sets } = readFeatures(join(await gatewayApiModuleDir(), 'pkg', 'features'));
  const profiles = readFileSync(join(conformance, 'utils', 'suite', 'profiles.go'), 'utf8');
  const start = profiles.indexOf(`${profile} = ConformanceProfile{`);
  if (start < 0) throw new Error(`profiles.go defines no ${profile}`);
  const def = block(profiles, profiles.indexOf('{', start));
  const coreText = block(def, def.indexOf('(', def.indexOf('CoreFeatures:')));
  const extendedText = def.slice(def.indexOf('ExtendedFeatures:'));
  const featureName = (constant: string): string => {
    const name = names.get(constant);
    if (!name) throw new Error(`unknown feature constant ${constant}`);
    return name;
  };
  const coreFeatures = [...coreText.matchAll(/features\.(Support\w+)/g)].map((m) => featureName(m[1]!));
  const extendedFeatures = [...extendedText.matchAll(/features\.(\w+Features)\b/g)].flatMap((m) => {
    const set = sets.get(m[1]!);
    if (!set) throw new Error(`unknown feature set ${m[1]}`);
    return set;
  });
  if (coreFeatures.length === 0 || extendedFeatures.length === 0)
    throw new Error(`could not read the features of ${profile}`);
  const inProfile = new Set([...coreFeatures, ...extendedFeatures]);
  const tests: ProfileTest[] = [];
  const dir = join(conformance, 'tests');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.go'))) {
    const go = readFileSync(join(dir, file), 'utf8');
    for (const m of go.matchAll(/=\s*suite\.ConformanceTest\{/g)) {
      const body = block(go, m.index + m[0].length - 1);
      const name = /ShortName:\s*"([^"]+)"/.exec(body)?.[1];
      const list = /Features:\s*\[\]features\.FeatureName\{([^}]*)\}/.exec(body)?.[1];
      if (!name || list === undefined)
        throw new Error(`${file}: a ConformanceTest without ShortName or Features`);
      const features = [...list.matchAll(/features\.(Support\w+)/g)].map((x) => featureName(x[1]!));
      if (!features.every((f) => inProfile.has(f))) continue;
      tests.push({
        name,
        features,
        core: features.every((f) => coreFeatures.includes(f)),
        provisional: /Provisional:\s*true/.test(body),
        file: file.replace(/\.go$/, ''),
        manifests: [
          ...(/Manifests:\s*\[\]string\{([^}]*)\}/.exec(body)?.[1] ?? '').matchAll(/"tests\/([^"]+)\.yaml"/g),
        ].map((x) => x[1]!),
      });
    }
  }
  return { tests: tests.sort((a, b) => a.name.localeCompare(b.name)), coreFeatures, extendedFeatures };
}
