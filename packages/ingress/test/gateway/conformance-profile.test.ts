// Pins docs/gateway-api.md's per-test conformance table ("GATEWAY-HTTP profile, test by test") to
// the conformance module we fetch: every GATEWAY-HTTP test of the module is listed (a new module
// version's new tests show up here as missing), nothing else is, each row's level matches the
// test's features, and a test marked pass is run by every test file its row names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { profileTests } from './conformance-profile.js';

const ROOT = join(import.meta.dirname, '../../../..');
const HERE = import.meta.dirname;

interface Row {
  readonly name: string;
  readonly level: string;
  readonly how: string;
  readonly result: string;
}

function tableRows(): Row[] {
  const doc = readFileSync(join(ROOT, 'docs', 'gateway-api.md'), 'utf8');
  const start = doc.indexOf('### GATEWAY-HTTP profile, test by test');
  expect(start, 'the per-test table in docs/gateway-api.md').toBeGreaterThan(0);
  const section = doc.slice(start, doc.indexOf('\n## ', start));
  return [...section.matchAll(/^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/gm)].map((m) => ({
    name: m[1]!,
    level: m[2]!.trim(),
    how: m[3]!.trim(),
    result: m[4]!.trim(),
  }));
}

it(
  'the docs list every GATEWAY-HTTP conformance test of the fetched module, and only those',
  { timeout: 120_000 },
  async () => {
    const { tests, coreFeatures } = await profileTests();
    expect(coreFeatures.sort()).toEqual(['Gateway', 'HTTPRoute', 'ReferenceGrant']);
    // A sanity floor: the profile is read, not empty (v1.5.1 has 87).
    expect(tests.length).toBeGreaterThanOrEqual(87);
    const rows = tableRows();
    const listed = rows.map((r) => r.name);
    expect(new Set(listed).size, 'each test listed once').toBe(listed.length);
    const inProfile = tests.map((t) => t.name);
    expect(
      inProfile.filter((n) => !listed.includes(n)),
      'GATEWAY-HTTP tests missing from docs/gateway-api.md',
    ).toEqual([]);
    expect(
      listed.filter((n) => !inProfile.includes(n)),
      'listed but not GATEWAY-HTTP tests',
    ).toEqual([]);
    for (const t of tests) {
      const row = rows.find((r) => r.name === t.name)!;
      const extended = t.features.filter((f) => !coreFeatures.includes(f));
      const level =
        (t.core ? 'core' : `extended: ${extended.join(', ')}`) + (t.provisional ? ' (provisional)' : '');
      expect(row.level, `level of ${t.name}`).toBe(level);
    }
  },
);

it('a test marked pass is run by each test file its row names; the others say why not', () => {
  const problems: string[] = [];
  for (const row of tableRows()) {
    if (row.result === 'pass') {
      const files = [...row.how.matchAll(/`([\w./-]+\.test\.ts)`/g)].map((m) => m[1]!);
      if (files.length === 0) problems.push(`${row.name}: no test file named`);
      for (const file of files) {
        const text = readFileSync(file.includes('/') ? join(ROOT, file) : join(HERE, file), 'utf8');
        if (!text.includes(row.name)) problems.push(`${row.name}: not in ${file}`);
      }
    } else if (!/^not run: .+/.test(row.result)) problems.push(`${row.name}: result ${row.result}`);
  }
  expect(problems).toEqual([]);
});
