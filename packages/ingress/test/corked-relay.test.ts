import { PassThrough, Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { relayCorked } from '../src/http1/corked-relay.js';

/** A destination that records each write it is given (a batch for writev). */
function recorder(): { to: Writable; writes: string[][]; ended: () => boolean } {
  const writes: string[][] = [];
  let ended = false;
  const to = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  return { to, writes, ended: () => ended };
}

describe('relayCorked', () => {
  it('hands what one turn of the event loop produced to the destination in one write', async () => {
    const from = new PassThrough();
    const { to, writes } = recorder();
    relayCorked(from, to as never);
    // As the socket pair delivers nghttp2's frames: one per tick, all in one turn.
    from.write('HEADERS');
    await Promise.resolve();
    process.nextTick(() => from.write('DATA'));
    await new Promise((r) => process.nextTick(r));
    from.write('DATA-END');
    await turn();
    await turn();
    expect(writes).toEqual([['HEADERS', 'DATA', 'DATA-END']]);
    from.write('next');
    await turn();
    await turn();
    expect(writes).toEqual([['HEADERS', 'DATA', 'DATA-END'], ['next']]);
  });

  it('ends the destination when the source ends, and relays nothing after stop()', async () => {
    const from = new PassThrough();
    const first = recorder();
    relayCorked(from, first.to as never);
    from.end('bye');
    await turn();
    await turn();
    expect(first.writes).toEqual([['bye']]);
    expect(first.ended()).toBe(true);

    const other = new PassThrough();
    const second = recorder();
    const stop = relayCorked(other, second.to as never);
    other.write('one');
    await turn();
    stop();
    other.write('two');
    await turn();
    await turn();
    expect(second.writes).toEqual([['one']]);
  });

  it('pauses the source while the destination pushes back, and resumes on drain', async () => {
    const from = new PassThrough();
    let release: (() => void) | undefined;
    const got: string[] = [];
    const to = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk.toString());
        release = cb;
      },
    });
    relayCorked(from, to as never);
    from.write('123456');
    await turn();
    await turn();
    expect(from.isPaused()).toBe(true);
    release!();
    await turn();
    expect(from.isPaused()).toBe(false);
    expect(got).toEqual(['123456']);
  });
});
