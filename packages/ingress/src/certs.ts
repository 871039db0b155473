/**
 * Certificates by SNI (reference §1.6): exact server name, then the `*.parent` wildcard, then the
 * default certificate. The SNICallback reads the current table on every handshake, so a new or
 * changed Secret is served as soon as its table is swapped in; SecureContexts are cached by
 * Secret resourceVersion so a swap does not re-parse unchanged keys.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import { parentDomain } from './router.js';
import type { CertEntry, RouteTable } from './table.js';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

export const TLS_MIN_VERSION: SecureVersion = 'TLSv1.2';

export class CertStore {
  private byHost = new Map<string, CertEntry>();
  private contexts = new Map<string, SecureContext>();
  readonly defaultContext: SecureContext;
  /** Secrets that failed to load, by id (reported once). */
  readonly broken = new Map<string, string>();

  constructor(readonly defaultPair: PemPair) {
    this.defaultContext = createSecureContext({ ...defaultPair, minVersion: TLS_MIN_VERSION });
  }

  setTable(table: RouteTable): void {
    const byHost = new Map<string, CertEntry>();
    const ids = new Set<string>();
    for (const c of table.certs) {
      byHost.set(c.host, c);
      ids.add(c.id);
    }
    for (const id of this.contexts.keys()) if (!ids.has(id)) this.contexts.delete(id);
    this.byHost = byHost;
  }

  /** The context for an SNI server name (already lower case per RFC 6066 §3 comparison rules). */
  contextFor(servername: string): SecureContext {
    const name = servername.toLowerCase();
    const entry = this.byHost.get(name) ?? this.byHost.get(`*.${parentDomain(name)}`);
    if (!entry) return this.defaultContext;
    let ctx = this.contexts.get(entry.id);
    if (!ctx) {
      try {
        ctx = createSecureContext({ cert: entry.cert, key: entry.key, minVersion: TLS_MIN_VERSION });
      } catch (err) {
        this.broken.set(entry.id, (err as Error).message);
        return this.defaultContext;
      }
      this.contexts.set(entry.id, ctx);
    }
    return ctx;
  }
}

/**
 * A self-signed default certificate made with the openssl CLI. It carries a DNS SAN: clients such
 * as the conformance suite read DNSNames[0] of every certificate they are shown (reference §0.2.10).
 */
export function selfSignedPair(dnsName = 'ingress.portico.invalid'): PemPair {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        `/CN=${dnsName}`,
        '-addext',
        `subjectAltName=DNS:${dnsName}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } catch (err) {
    throw new Error(
      `generating the default certificate needs the openssl command (Debian: openssl): ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
