import { describe, expect, it } from 'vitest';
import { nodeSelectorsMatch, parseGoDuration, type NodeSelector } from '@portico/config';

describe('parseGoDuration (time.ParseDuration)', () => {
  const s = 1_000_000_000n;
  it.each([
    ['90s', 90n * s],
    ['0', 0n],
    ['0s', 0n],
    ['1m30s', 90n * s],
    ['1.5s', 1_500_000_000n],
    ['.5s', 500_000_000n],
    ['500ms', 500_000_000n],
    ['2999ms', 2_999_000_000n],
    ['1h', 3600n * s],
    ['-5s', -5n * s],
    ['+3s', 3n * s],
    ['10us', 10_000n],
    ['10µs', 10_000n],
    ['10μs', 10_000n],
    ['7ns', 7n],
  ])('%s', (text, nanos) => {
    expect(parseGoDuration(text)).toBe(nanos);
  });

  it.each([
    ['90', 'time: missing unit in duration "90"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['.s', 'time: invalid duration ".s"'],
    ['9999999999999999999h', 'time: invalid duration'],
  ])('%s -> %s', (text, error) => {
    expect(parseGoDuration(text)).toContain(error);
  });
});

describe('nodeSelectorsMatch', () => {
  const labels = { 'kubernetes.io/hostname': 'node-a', rack: 'r1', zone: 'z1' };
  const sel = (s: Partial<NodeSelector>): NodeSelector => ({ matchLabels: {}, matchExpressions: [], ...s });

  it.each<[string, NodeSelector[], boolean]>([
    ['no selectors select every node', [], true],
    ['an empty selector selects every node', [sel({})], true],
    ['match-labels equal', [sel({ matchLabels: { rack: 'r1' } })], true],
    ['match-labels different value', [sel({ matchLabels: { rack: 'r2' } })], false],
    ['match-labels missing key', [sel({ matchLabels: { row: 'r1' } })], false],
    ['all match-labels must hold', [sel({ matchLabels: { rack: 'r1', zone: 'z2' } })], false],
    [
      'In with the value',
      [sel({ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r0', 'r1'] }] })],
      true,
    ],
    [
      'In without the value',
      [sel({ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r0'] }] })],
      false,
    ],
    [
      'In on a missing key',
      [sel({ matchExpressions: [{ key: 'row', operator: 'In', values: [''] }] })],
      false,
    ],
    [
      'NotIn with the value',
      [sel({ matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['r1'] }] })],
      false,
    ],
    [
      'NotIn on a missing key',
      [sel({ matchExpressions: [{ key: 'row', operator: 'NotIn', values: ['x'] }] })],
      true,
    ],
    ['Exists', [sel({ matchExpressions: [{ key: 'zone', operator: 'Exists', values: [] }] })], true],
    [
      'Exists on a missing key',
      [sel({ matchExpressions: [{ key: 'row', operator: 'Exists', values: [] }] })],
      false,
    ],
    [
      'DoesNotExist',
      [sel({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist', values: [] }] })],
      false,
    ],
    [
      'DoesNotExist on a missing key',
      [sel({ matchExpressions: [{ key: 'row', operator: 'DoesNotExist', values: [] }] })],
      true,
    ],
    [
      'labels and expressions must all hold',
      [
        sel({
          matchLabels: { rack: 'r1' },
          matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }],
        }),
      ],
      false,
    ],
    [
      'any selector matching is enough',
      [sel({ matchLabels: { rack: 'r9' } }), sel({ matchLabels: { zone: 'z1' } })],
      true,
    ],
    [
      'no selector matching',
      [sel({ matchLabels: { rack: 'r9' } }), sel({ matchLabels: { zone: 'z9' } })],
      false,
    ],
  ])('%s', (_name, selectors, expected) => {
    expect(nodeSelectorsMatch(selectors, labels)).toBe(expected);
  });
});
