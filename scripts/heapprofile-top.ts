// Summarises a V8 sampling heap profile (.heapprofile, as written by DevTools or by
// packages/speaker/bench/memory-bgp.ts with BENCH_PROFILE): bytes by allocating function (self)
// and by source file, largest first, as a share of the whole.
//
//   node_modules/.bin/node scripts/heapprofile-top.ts FILE [TOP=25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: heapprofile-top.ts FILE [TOP]');
const top = Number(process.argv[3] ?? 25);
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
const short = (url: string) =>
  url.replace(/^file:\/\//, '').replace(/^.*\/(packages|node_modules)\//, '$1/') || '(native)';
const walk = (n: ProfileNode) => {
  if (n.selfSize > 0) {
    const f = n.callFrame;
    total += n.selfSize;
    add(byFunction, `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`, n.selfSize);
    add(byFile, short(f.url), n.selfSize);
  }
  for (const c of n.children) walk(c);
};
walk(head);

const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${(v / 2 ** 20).toFixed(1).padStart(9)} MiB ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`,
    );
};
console.log(`total sampled: ${(total / 2 ** 20).toFixed(1)} MiB`);
print('by allocating function (self)', byFunction);
print('by file', byFile);
