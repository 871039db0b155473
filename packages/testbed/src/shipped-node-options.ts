/**
 * The NODE_OPTIONS the manifests give the controller and the speaker (V8 heap flags, issue 12).
 * The manifests are the one place those flags live: the benchmarks start the processes with what
 * this reads, so they measure what ships (test/manifests/node-options.test.ts pins that this
 * reading matches the YAML).
 */
import { readFileSync } from 'node:fs';

/** The manifest of each component, from the repository root (src/ and dist/ are at the same depth). */
const manifests = {
  controller: new URL('../../../manifests/base/controller.yaml', import.meta.url),
  speaker: new URL('../../../manifests/speaker/daemonset.yaml', import.meta.url),
};

export type ShippedComponent = keyof typeof manifests;

/**
 * The value of the NODE_OPTIONS environment variable of the component's container, '' when the
 * manifest sets none. Reads the `- name: NODE_OPTIONS` entry and the `value:` line after it
 * (no YAML parser: the testbed takes no dependency for two lines).
 */
export function shippedNodeOptions(component: ShippedComponent): string {
  const lines = readFileSync(manifests[component], 'utf8').split('\n');
  const at = lines.findIndex((line) => /^\s*- name: NODE_OPTIONS\s*$/.test(line));
  if (at < 0) return '';
  const value = /^\s*value:\s*(.*?)\s*$/.exec(lines[at + 1] ?? '');
  if (!value)
    throw new Error(`${manifests[component].pathname}: NODE_OPTIONS has no "value:" on the next line`);
  return value[1]!.replace(/^(['"])(.*)\1$/, '$2');
}
