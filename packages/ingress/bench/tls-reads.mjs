// Micro-benchmark: what the shared read buffer (src/http1/shared-read-buffer.ts) saves a TLS
// server per request. Two child processes answer every request head with the same small response
// over TLS, one reading as any TLS socket does ('data' events, an ArrayBuffer per read), one with
// readIntoSharedBuffer; wrk loads them in alternating rounds and the CPU time each child used
// (from /proc) is divided by the requests it answered.
// Usage: node packages/ingress/bench/tls-reads.mjs   (needs wrk; TLS_READS_ROUNDS=6 TLS_READS_SECONDS=3)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { fileURLToPath } from 'node:url';

const RESPONSE = 'HTTP/1.1 200 OK\r\nserver: x\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nA\n';
const END = Buffer.from('\r\n\r\n');

if (process.argv[2] === 'serve') {
  const { readIntoSharedBuffer } = await import('../dist/http1/shared-read-buffer.js');
  const { selfSignedPair } = await import('../dist/certs.js');
  const [, , , mode, port] = process.argv;
  const server = createServer(
    { ...selfSignedPair('bench.example.com'), ALPNProtocols: ['http/1.1'] },
    (socket) => {
      socket.setNoDelay(true);
      socket.on('data', (d) => {
        if (d.indexOf(END) >= 0) socket.write(RESPONSE, 'latin1');
      });
      socket.on('error', () => socket.destroy());
      if (mode === 'shared' && !readIntoSharedBuffer(socket))
        throw new Error('shared read buffer not installed');
    },
  );
  server.listen(Number(port), '127.0.0.1', () => process.send('ready'));
} else {
  const ROUNDS = Number(process.env.TLS_READS_ROUNDS ?? 6);
  const SECONDS = Number(process.env.TLS_READS_SECONDS ?? 3);
  const modes = [
    ['standard', 18171],
    ['shared', 18172],
  ];
  const children = await Promise.all(
    modes.map(
      ([mode, port]) =>
        new Promise((resolve) => {
          const child = spawn(
            process.execPath,
            [fileURLToPath(import.meta.url), 'serve', mode, String(port)],
            {
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            },
          );
          child.once('message', () => resolve(child));
        }),
    ),
  );
  const cpuMs = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  const wrk = (port, seconds) =>
    execFileSync('wrk', ['-t1', '-c32', `-d${seconds}s`, `https://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const perRequest = Object.fromEntries(modes.map(([m]) => [m, []]));
  for (let round = 0; round < ROUNDS; round++) {
    modes.forEach(([mode, port], i) => {
      wrk(port, 1); // warm-up
      const before = cpuMs(children[i].pid);
      const out = wrk(port, SECONDS);
      const requests = Number(/(\d+) requests in/.exec(out)[1]);
      const us = ((cpuMs(children[i].pid) - before) * 1000) / requests;
      perRequest[mode].push(us);
      console.log(`${mode} round ${round + 1}: ${requests} requests, ${us.toFixed(2)} µs CPU/request`);
    });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = Object.fromEntries(modes.map(([m]) => [m, Number(median(perRequest[m]).toFixed(2))]));
  console.log(JSON.stringify({ ...result, sharedOverStandard: result.shared / result.standard }));
  for (const c of children) c.kill();
}
