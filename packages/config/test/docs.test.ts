/** The examples users copy must be valid: every YAML block of docs/configuration.md and the
 * example ConfigMap of manifests/base. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configToJSON, readConfigFile, validateForNativeSpeaker } from '@portico/config';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

const reference = read('docs/configuration.md');
const yamlBlocks = [...reference.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('docs/configuration.md examples', () => {
  it('has examples', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(6);
  });

  it.each(yamlBlocks.map((block, i) => [i, block]))('YAML block %i is a valid configuration', (_i, block) => {
    const result = readConfigFile(block);
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (result.ok) expect(validateForNativeSpeaker(result.config)).toEqual([]);
  });

  it('the --json example is what config check prints for the first example', () => {
    const json = /```json\n([\s\S]*?)```/.exec(reference)?.[1] ?? '';
    const result = readConfigFile(yamlBlocks[0] ?? '');
    expect(result.ok && { valid: true, errors: [], config: configToJSON(result.config) }).toEqual(
      JSON.parse(json),
    );
  });
});

describe('manifests/base/config.yaml', () => {
  it('is a valid ConfigMap in portico-system with one layer2 pool', () => {
    const text = read('manifests/base/config.yaml');
    expect(text).toContain('namespace: portico-system');
    const result = readConfigFile(text);
    expect(result.ok && configToJSON(result.config).pools.map((p) => [p.name, p.protocol])).toEqual([
      ['default', 'layer2'],
    ]);
  });
});
