/**
 * nginx (Debian's) as the reference a test compares Portico with: one worker run from `work`, a
 * directory the test made for its files (nginx's pid, error log and temp files go there too),
 * serving what `http` holds (server and upstream blocks). Resolves when every port of `ports`
 * accepts connections; the test stops the process (SIGQUIT) and removes `work` itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { nginxBinary } from './adversarial/harness.js';

export async function startReferenceNginx(
  work: string,
  http: string,
  ports: number[],
): Promise<ChildProcess> {
  const bin = nginxBinary();
  if (!bin) throw new Error('this test needs nginx (Debian package nginx, listed in .ci/apt-packages)');
  // nginx's worker runs as nobody and writes its temp files here.
  chmodSync(work, 0o777);
  writeFileSync(
    join(work, 'nginx.conf'),
    `worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${work}; proxy_temp_path ${work}; fastcgi_temp_path ${work};
  uwsgi_temp_path ${work}; scgi_temp_path ${work};
  ${http}
}
`,
  );
  const child = spawn(bin, ['-p', work, '-c', join(work, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  for (const port of ports) await waitListening(port);
  return child;
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx is not listening on ${port}`);
}
