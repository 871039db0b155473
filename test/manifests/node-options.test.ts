/**
 * The controller's and the speaker's V8 flags (NODE_OPTIONS in their manifests, issue 12) are what
 * the memory benchmarks start the processes with: the testbed's shippedNodeOptions() reads the
 * same value the YAML holds, every memory benchmark and the lab launch through it, and Node accepts the
 * flags in NODE_OPTIONS (it refuses most V8 flags there, and a container would then not start).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { shippedNodeOptions } from '@portico/testbed/measure';

const root = new URL('../../', import.meta.url).pathname;

interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
}

/** The NODE_OPTIONS of the one container of the workload in `file`, parsed as YAML. */
function nodeOptionsInYaml(file: string): string | undefined {
  const docs = parseAllDocuments(readFileSync(root + file, 'utf8')).map(
    (d) => d.toJSON() as { spec: { template: { spec: { containers: Container[] } } } },
  );
  const containers = docs.flatMap((d) => d.spec.template.spec.containers);
  expect(containers).toHaveLength(1);
  return containers[0]!.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
}

const components = [
  { component: 'controller', manifest: 'manifests/base/controller.yaml' },
  { component: 'speaker', manifest: 'manifests/speaker/daemonset.yaml' },
] as const;

describe('V8 flags of the controller and the speaker', () => {
  for (const { component, manifest } of components) {
    it(`${component}: the benchmarks read what ${manifest} ships`, () => {
      const shipped = shippedNodeOptions(component);
      expect(shipped).toMatch(/--max-semi-space-size=\d+/);
      expect(shipped).toBe(nodeOptionsInYaml(manifest));
    });

    it(`${component}: node accepts the flags in NODE_OPTIONS and applies them`, () => {
      const semiSpace = Number(/--max-semi-space-size=(\d+)/.exec(shippedNodeOptions(component))![1]);
      const r = spawnSync(
        process.execPath,
        ['-e', "console.log(require('node:v8').getHeapStatistics().total_available_size)"],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: shippedNodeOptions(component) } },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // The same process without the flags can reach more: the young generation is smaller.
      const without = spawnSync(
        process.execPath,
        ['-e', "console.log(require('node:v8').getHeapStatistics().total_available_size)"],
        { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
      );
      expect(Number(r.stdout)).toBeLessThan(Number(without.stdout));
      expect(semiSpace).toBeGreaterThan(0);
    });
  }

  it('every benchmark that measures memory starts Portico processes with the shipped flags', () => {
    const launches = {
      'packages/controller/bench/memory.ts': ['controller'],
      'packages/speaker/bench/memory.ts': ['speaker'],
      'packages/speaker/bench/run.ts': ['speaker'],
      'packages/speaker/bench/memory-bgp.ts': ['controller', 'speaker'],
    };
    for (const [file, names] of Object.entries(launches)) {
      const source = readFileSync(root + file, 'utf8');
      for (const name of names) expect(source, file).toContain(`shippedNodeOptions('${name}')`);
    }
  });

  it('the lab starts the controller and the speakers with the shipped flags', () => {
    const launches = {
      'packages/lab/src/up.ts': 'controller',
      'packages/lab/src/speaker.ts': 'speaker',
    };
    for (const [file, name] of Object.entries(launches))
      expect(readFileSync(root + file, 'utf8'), file).toContain(`shippedNodeFlags('${name}')`);
  });
});
