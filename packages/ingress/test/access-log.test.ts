/**
 * The access log in both formats, through a running proxy on both planes (plain HTTP/1.1: fast
 * path; HTTPS HTTP/2: Node path) with real curl: JSON fields (status, upstream, timing, bytes,
 * request ID, client) and the combined line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import pino from 'pino';
import { combinedLine, IngressServer, logTime, type AccessEntry } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let web: Echo;
const servers: IngressServer[] = [];
const json: Record<string, unknown>[] = [];
const lines: string[] = [];
const ports = { json: { http: 0, https: 0 }, combined: { http: 0, https: 0 } };

async function start(format: 'json' | 'combined'): Promise<{ http: number; https: number }> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) json.push(JSON.parse(line));
      done();
    },
  });
  const server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    proxy: {
      logger: pino({ name: 'access' }, sink),
      accessLogFormat: format,
      accessLogStream: { write: (line: string) => lines.push(line) },
    },
  });
  server.setTable(
    table([
      loopbackService('web', [web.port]),
      { ingresses: [ingress('shop', { rules: [rule('a.example.com', { path: '/', svc: 'web' })] })] },
    ]),
  );
  servers.push(server);
  const { httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number };
  return { http: httpPort, https: httpsPort };
}

beforeAll(async () => {
  web = await startEcho('web');
  ports.json = await start('json');
  ports.combined = await start('combined');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (web) await stopAll([web]);
});

function curl(plane: 'fast' | 'node', port: { http: number; https: number }, path: string): Promise<string> {
  const p = plane === 'fast' ? port.http : port.https;
  const url = `${plane === 'fast' ? 'http' : 'https'}://a.example.com:${p}${path}`;
  const args = ['-sS', '-k', '--resolve', `a.example.com:${p}:127.0.0.1`, '-A', 'test-agent/1.0'];
  args.push('-e', 'https://ref.example/', plane === 'fast' ? '--http1.1' : '--http2', url);
  return new Promise((resolve, reject) =>
    execFile('curl', args, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('json: status, upstream, timing, bytes, request ID, client', async () => {
    const body = await curl(plane, ports.json, `/json-${plane}`);
    const sent = JSON.parse(body).headers['x-request-id'];
    const entry = json.find((e) => e.path === `/json-${plane}`)!;
    expect(entry).toMatchObject({
      method: 'GET',
      status: 200,
      ingress: 'default/shop',
      service: 'default/web:80',
      upstream: expect.stringContaining(`127.0.0.1:${web.port}`),
      requestId: sent,
      bytes: Buffer.byteLength(body),
      client: '127.0.0.1',
      protocol: plane === 'fast' ? 'HTTP/1.1' : 'HTTP/2.0',
    });
    expect(entry.ms).toBeGreaterThan(0);
    expect(entry.upstreamMs).toBeGreaterThan(0);
    expect(entry.upstreamMs as number).toBeLessThanOrEqual(entry.ms as number);
  });

  it('combined: the combined line plus request time, [ingress] [service], upstream, header time, request ID', async () => {
    const body = await curl(plane, ports.combined, `/combined-${plane}?q=1`);
    const sent = JSON.parse(body).headers['x-request-id'];
    const line = lines.find((l) => l.includes(`/combined-${plane}?q=1`))!;
    const version = plane === 'fast' ? 'HTTP/1.1' : 'HTTP/2.0';
    expect(line).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000\\] ` +
          `"GET /combined-${plane}\\?q=1 ${version.replace('.', '\\.')}" 200 ${Buffer.byteLength(body)} ` +
          `"https://ref\\.example/" "test-agent/1\\.0" \\d+\\.\\d{3} \\[default/shop\\] \\[default/web:80\\] ` +
          `\\S*127\\.0\\.0\\.1:${web.port}\\S* \\d+\\.\\d{3} ${sent}\\n$`,
      ),
    );
  });
});

it('combined lines escape quotes and control characters, and show - for the unknown', () => {
  const entry: AccessEntry = {
    method: 'GET',
    host: 'a',
    path: '/"x"\n',
    protocol: undefined,
    status: 404,
    ingress: '',
    service: '',
    upstream: undefined,
    requestId: undefined,
    ms: 1.5,
    upstreamMs: undefined,
    bytes: undefined,
    client: '192.0.2.1',
    peer: undefined,
    referer: undefined,
    userAgent: 'a\\b',
  };
  expect(combinedLine(entry, new Date(Date.UTC(2026, 11, 7, 3, 4, 5)))).toBe(
    '192.0.2.1 - - [07/Dec/2026:03:04:05 +0000] "GET /\\x22x\\x22\\x0a HTTP/1.1" 404 0 "-" "a\\x5cb" 0.002 [] [] - - -\n',
  );
  expect(logTime(new Date(Date.UTC(2027, 0, 1, 0, 0, 0)))).toBe('01/Jan/2027:00:00:00 +0000');
});
