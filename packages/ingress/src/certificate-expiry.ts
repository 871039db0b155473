/**
 * When each served certificate expires, as a metric: `portico_ingress_certificate_expiry_seconds
 * {secret="namespace/name"}`, the certificate's notAfter as a Unix timestamp (cert-manager's
 * certmanager_certificate_expiration_timestamp_seconds does the same), so an alert reads
 * `portico_ingress_certificate_expiry_seconds - time() < 14 * 86400`. Set by the primary from the
 * certificates of every table it compiles; a Secret no longer served loses its series. A PEM that
 * does not parse has no series (the compiler reports it as InvalidCertificate).
 */
import { X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { CertEntry } from './table.js';

export class CertificateExpiry {
  private readonly gauge: Gauge<'secret'>;
  /** notAfter (s) by CertEntry.id (namespace/name@resourceVersion): each PEM is parsed once. */
  private readonly parsed = new Map<string, number | null>();
  private shown = new Set<string>();

  constructor(registry: Registry) {
    this.gauge = new Gauge({
      name: 'portico_ingress_certificate_expiry_seconds',
      help: 'Expiry (notAfter) of each served TLS certificate, as a Unix timestamp in seconds, by Secret',
      labelNames: ['secret'],
      registers: [registry],
    });
  }

  update(certs: readonly CertEntry[]): void {
    const shown = new Set<string>();
    const ids = new Set<string>();
    for (const cert of certs) {
      ids.add(cert.id);
      const secret = cert.id.slice(0, cert.id.lastIndexOf('@'));
      const notAfter = this.notAfter(cert);
      if (notAfter === null || shown.has(secret)) continue;
      shown.add(secret);
      this.gauge.set({ secret }, notAfter);
    }
    for (const secret of this.shown) if (!shown.has(secret)) this.gauge.remove({ secret });
    for (const id of this.parsed.keys()) if (!ids.has(id)) this.parsed.delete(id);
    this.shown = shown;
  }

  private notAfter(cert: CertEntry): number | null {
    let value = this.parsed.get(cert.id);
    if (value === undefined) {
      try {
        value = Math.floor(new X509Certificate(cert.cert).validToDate.getTime() / 1000);
      } catch {
        value = null;
      }
      this.parsed.set(cert.id, value);
    }
    return value;
  }
}
