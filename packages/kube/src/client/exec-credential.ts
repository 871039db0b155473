/**
 * kubeconfig `exec` credential plugins (client.authentication.k8s.io/v1 and v1beta1): run the
 * command, read an ExecCredential from its stdout, and use its token until it expires or the
 * server refuses it. Only tokens are taken; a plugin that returns client certificates is refused
 * with a clear error rather than silently ignored.
 */
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import type { TokenSource } from './credentials.js';

export interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  provideClusterInfo?: boolean;
}

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string };
}

export class ExecCredentialPlugin implements TokenSource {
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly config: ExecConfig,
    private readonly server: string,
    private readonly baseDir: string,
  ) {}

  async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.expiresAt) return this.cached.token;
    // Concurrent requests share one run of the plugin.
    this.pending ??= this.run().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async run(): Promise<string> {
    const apiVersion = this.config.apiVersion ?? 'client.authentication.k8s.io/v1';
    const command =
      this.config.command.includes('/') && !isAbsolute(this.config.command)
        ? join(this.baseDir, this.config.command)
        : this.config.command;
    const info = {
      apiVersion,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        ...(this.config.provideClusterInfo ? { cluster: { server: this.server } } : {}),
      },
    };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const { name, value } of this.config.env ?? []) env[name] = value;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(command, this.config.args ?? [], { env, timeout: 30_000 }, (err, out, stderr) =>
        err
          ? reject(
              new Error(
                `exec credential plugin ${command} failed: ${err.message}${stderr ? `: ${stderr.trim()}` : ''}`,
              ),
            )
          : resolve(out),
      ),
    );
    let credential: ExecCredential;
    try {
      credential = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new Error(`exec credential plugin ${command} printed no ExecCredential JSON`);
    }
    const token = credential.status?.token;
    if (!token) {
      throw new Error(
        credential.status?.clientCertificateData
          ? `exec credential plugin ${command} returned a client certificate; only tokens are supported`
          : `exec credential plugin ${command} returned no status.token`,
      );
    }
    const expires = credential.status?.expirationTimestamp;
    // No expiry: keep it until the server refuses it.
    this.cached = { token, expiresAt: expires ? Date.parse(expires) - 10_000 : Number.POSITIVE_INFINITY };
    return token;
  }
}
