import { describe, expect, it } from 'vitest';
import { headEnd } from '../src/http1/head-end.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');

describe('headEnd', () => {
  it('finds the first blank line where indexOf does, in buffers of CR, LF and other bytes', () => {
    // Short buffers go through the JavaScript scan, long ones through indexOf: both are checked.
    const alphabet = [0x0d, 0x0a, 0x41];
    const wrong: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const length = n % 2 === 0 ? n % 40 : 250 + (n % 20);
      const buf = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buf[i] = alphabet[Math.floor(Math.random() * 3)]!;
      if (headEnd(buf) !== buf.indexOf(CRLFCRLF)) wrong.push(buf.toString('hex'));
    }
    expect(wrong).toEqual([]);
  });

  it('finds the end of a head, of the first of pipelined heads, and none in an incomplete one', () => {
    const head = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    expect(headEnd(Buffer.from(head))).toBe(head.length - 4);
    expect(headEnd(Buffer.from(head + head + 'body'))).toBe(head.length - 4);
    expect(headEnd(Buffer.from(head.slice(0, -1)))).toBe(-1);
    expect(headEnd(Buffer.from('\r\n\r\r\n\r\n'))).toBe(3);
    const long = `GET / HTTP/1.1\r\nHost: a\r\nCookie: ${'c'.repeat(400)}\r\n\r\n`;
    expect(headEnd(Buffer.from(long))).toBe(long.length - 4);
    expect(headEnd(Buffer.alloc(0))).toBe(-1);
  });
});
