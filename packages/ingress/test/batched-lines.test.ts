/**
 * Access-log lines batched per turn of the event loop (batched-lines.ts): one write per turn, at
 * once past the limit, and nothing lost when the process exits right after logging (a real child
 * process writing to a real pipe).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchedLines } from '@portico/ingress';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('BatchedLines', () => {
  it('writes the lines of one turn together, after the turn', async () => {
    const writes: string[] = [];
    const lines = new BatchedLines({ write: (text: string) => writes.push(text) });
    lines.write('a\n');
    lines.write('b\n');
    lines.write('c\n');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['a\nb\nc\n']);
    lines.write('d\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes at once when the limit is reached', () => {
    const writes: string[] = [];
    const lines = new BatchedLines({ write: (text: string) => writes.push(text) }, 10);
    lines.write('12345\n');
    expect(writes).toEqual([]);
    lines.write('67890\n');
    expect(writes).toEqual(['12345\n67890\n']);
  });

  it('writes what is kept when the process exits', async () => {
    // 2,000 lines and an immediate exit: no turn ends before the process does.
    const script =
      `const { BatchedLines } = await import(${JSON.stringify(dist)});` +
      `const lines = new BatchedLines();` +
      `for (let i = 0; i < 2000; i++) lines.write(JSON.stringify({ i }) + '\\n');` +
      `process.exit(0);`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { maxBuffer: 1 << 20 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    const got = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});
