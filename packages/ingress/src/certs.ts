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
import { createSecureContext, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
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

  /**
   * The SNICallback of the TLS listeners: the host's context and, for a host that verifies client
   * certificates (annotations/client-tls.ts), a certificate request on this connection. Node asks
   * for client certificates per server (requestCert); the handshake's verify mode can still be set
   * while the ClientHello is processed, as nginx does per server block, through the socket's handle.
   */
  readonly sniCallback = (
    socket: TLSSocket,
    servername: string,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void => {
    const entry = this.entryFor(servername);
    if (entry?.clientCa !== undefined) askClientCertificate(socket, entry.clientCa);
    cb(null, this.contextOf(entry));
  };

  /** The context for an SNI server name (already lower case per RFC 6066 §3 comparison rules). */
  contextFor(servername: string): SecureContext {
    return this.contextOf(this.entryFor(servername));
  }

  private entryFor(servername: string): CertEntry | undefined {
    const name = servername.toLowerCase();
    return this.byHost.get(name) ?? this.byHost.get(`*.${parentDomain(name)}`);
  }

  private contextOf(entry: CertEntry | undefined): SecureContext {
    if (!entry) return this.defaultContext;
    let ctx = this.contexts.get(entry.id);
    if (!ctx) {
      try {
        ctx = createSecureContext({
          cert: entry.cert,
          key: entry.key,
          minVersion: TLS_MIN_VERSION,
          ...(entry.clientCa !== undefined && { ca: entry.clientCa }),
          // Node then checks every certificate of a client's chain against the lists, as nginx's ssl_crl.
          ...(entry.clientCrl !== undefined && { crl: crlBlocks(entry.clientCrl) }),
        });
      } catch (err) {
        this.broken.set(entry.id, (err as Error).message);
        return this.defaultContext;
      }
      this.contexts.set(entry.id, ctx);
    }
    return ctx;
  }
}

/** The CRLs of a PEM text, one string each: Node reads one CRL per string it is given. */
export function crlBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g) ?? [];
}

/** What of a server-side TLSSocket asking for a client certificate takes (Node's own fields). */
interface VerifyingSocket {
  _requestCert?: boolean;
  _rejectUnauthorized?: boolean;
  _handle?: { setVerifyMode?(requestCert: boolean, rejectUnauthorized: boolean): void } | null;
}

/**
 * Makes this handshake ask for a client certificate without refusing a bad one (the request
 * decides: annotations/client-tls.ts), and has Node set `authorized` / `authorizationError` as it
 * does with requestCert. Should Node's handle lack the method, nothing is asked and every request
 * needing a certificate is refused: closed, never open.
 */
function askClientCertificate(socket: TLSSocket, ca: string): void {
  const s = socket as unknown as VerifyingSocket;
  if (typeof s._handle?.setVerifyMode !== 'function') return;
  s._handle.setVerifyMode(true, false);
  s._requestCert = true;
  s._rejectUnauthorized = false;
  askedCa.set(socket, ca);
}

/** The CA a connection's client certificate was verified against (client-certificate.ts). */
const askedCa = new WeakMap<TLSSocket, string>();

export function clientCaOf(socket: TLSSocket): string | undefined {
  return askedCa.get(socket);
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
