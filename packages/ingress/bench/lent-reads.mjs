// Micro-benchmark: what lending a read from the shared read buffer saves per read, against
// copying it out and emitting it as 'data' (src/http1/shared-read-buffer.ts), for wrk's request
// and a browser's. One process, no sockets: the read callback's own work and a consumer that
// takes the head's text, as ClientConnection does.
// Usage: node packages/ingress/bench/lent-reads.mjs
import { EventEmitter } from 'node:events';

const shared = Buffer.allocUnsafe(64 * 1024);
const heads = {
  wrk: 'GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n',
  browser: `GET /app/page?x=1 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: ${'m'.repeat(380)}\r\n\r\n`,
};
let sink = 0;
// A whole head per read: its text is taken and nothing of the read outlives the call.
const consume = (d) => {
  sink += d.toString('latin1', 0, d.length - 4).length;
};
const socket = new EventEmitter();
socket.on('data', consume);
const ways = {
  copied: (n) => socket.emit('data', Buffer.from(shared.subarray(0, n))),
  lent: (n) => consume(shared.subarray(0, n)),
};
for (const [name, head] of Object.entries(heads)) {
  const n = shared.write(head, 0, 'latin1');
  for (const [way, read] of Object.entries(ways)) {
    for (let i = 0; i < 200_000; i++) read(n);
    const res = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 1_000_000; i++) read(n);
      res.push(Number(process.hrtime.bigint() - t0) / 1_000_000);
    }
    res.sort((a, b) => a - b);
    console.log(
      `${name} (${n} bytes) ${way}: median ${res[3].toFixed(1)} ns/read (min ${res[0].toFixed(1)})`,
    );
  }
}
if (sink === 0) console.log('!');
