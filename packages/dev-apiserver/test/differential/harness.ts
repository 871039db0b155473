/**
 * The two servers of the differential suite behind one interface: REST requests (HTTPS with the
 * real server's CA and admin token, plain HTTP for the development one), watches read as
 * newline-delimited events, and the pinned kubectl with a kubeconfig and a HOME of its own per
 * server (so discovery caches never mix).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';

/** Every request carries this User-Agent, so the default field manager is the same on both sides. */
export const USER_AGENT = 'portico-differential/1.0';

export interface RawResponse {
  status: number;
  /** Warning headers (`299 - "..."`), in order. */
  warnings: string[];
  text: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServerEndpoint {
  readonly name: 'real' | 'dev';
  readonly url: string;
  readonly kubeconfig: string;
  readonly token?: string;
  readonly ca?: string;
}

function warningsOf(response: IncomingMessage): string[] {
  const header = response.headers.warning;
  if (header === undefined) return [];
  return (Array.isArray(header) ? header : [header]).flatMap((h) =>
    // One header may carry several comma-separated warnings.
    [...h.matchAll(/\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')),
  );
}

export class Client {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly home: string;

  constructor(
    readonly server: ServerEndpoint,
    private readonly kubectlBinary: string,
    workDir: string,
  ) {
    this.agent = server.url.startsWith('https:')
      ? new HttpsAgent({ keepAlive: true, ca: server.ca })
      : new HttpAgent({ keepAlive: true });
    this.home = join(workDir, server.name);
    mkdirSync(this.home, { recursive: true });
    writeFileSync(join(this.home, 'kubeconfig'), server.kubeconfig);
  }

  private open(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.server.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            'user-agent': USER_AGENT,
            accept: 'application/json',
            ...(this.server.token ? { authorization: `Bearer ${this.server.token}` } : {}),
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<RawResponse> {
    const response = await this.open(method, path, headers, body);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return {
      status: response.statusCode ?? 0,
      warnings: warningsOf(response),
      text: Buffer.concat(chunks).toString('utf8'),
    };
  }

  /** A watch read in the background; `stop()` ends it and returns what arrived. */
  watch(path: string): Watch {
    return new Watch(this.open('GET', path, {}, undefined));
  }

  kubectl(args: string[], stdin?: string): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        this.kubectlBinary,
        args,
        {
          env: { PATH: process.env.PATH, HOME: this.home, KUBECONFIG: join(this.home, 'kubeconfig') },
          timeout: 20_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(stdin ?? '');
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export class Watch {
  readonly events: unknown[] = [];
  status = 0;
  private response: IncomingMessage | undefined;
  private waiters: (() => void)[] = [];
  private ended = false;

  constructor(opening: Promise<IncomingMessage>) {
    opening.then(
      (response) => {
        this.response = response;
        this.status = response.statusCode ?? 0;
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (line) this.events.push(JSON.parse(line));
          }
          this.wake();
        });
        const end = () => {
          // A non-watch answer (an error Status) arrives without a trailing newline.
          if (buffer.trim()) this.events.push(JSON.parse(buffer));
          buffer = '';
          this.ended = true;
          this.wake();
        };
        response.on('end', end);
        response.on('close', end);
        response.on('error', end);
      },
      () => {
        this.ended = true;
        this.wake();
      },
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `count` events arrived, the stream ended or `ms` passed. */
  async waitFor(count: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.events.length < count && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.response?.destroy();
  }
}
