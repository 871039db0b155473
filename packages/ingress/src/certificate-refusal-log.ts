/**
 * A warn-level line for a client certificate refused because it failed verification: revoked (a
 * CRL of `ca.crl` lists it), expired, of an unknown CA, a chain too long… The access log shows only
 * the 400, and whoever revoked a certificate wants to know where it is still presented: the line
 * names the Ingress, the host, the client and the certificate (subject, serial, issuer).
 *
 * A client retrying in a loop must not flood the log: one certificate (issuer and serial) is logged
 * at most once per Ingress in each minute, and at most `maxLines` lines are written in a minute in
 * all (a client can make certificates of a CA of its own by the thousand). The refusals left out
 * are counted on the next line written (`suppressed`); every refusal is counted anyway by
 * portico_ingress_admission_refusals_total. Each worker process keeps its own count.
 *
 * A request without a certificate, or refused by auth-tls-match-cn, is not a verification failure
 * and gets no line: there is no certificate to name, or it verified.
 */
import type { Logger } from 'pino';
import type { AdmissionFacts } from './admission.js';
import { clientCertificateOf, distinguishedName } from './client-certificate.js';
import { normalizeHost } from './router.js';
import type { Target } from './table.js';

export class CertificateRefusalLog {
  /** performance.now() when the current minute began. */
  private windowStart = -Infinity;
  /** `ingress issuer serial` of the certificates logged this minute. */
  private readonly logged = new Set<string>();
  /** Refusals not logged since the last line. */
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = 60_000,
    private readonly maxLines = 100,
  ) {}

  /** A request to `target` was refused for its client certificate (reason `reason`). */
  refused(target: Target, facts: AdmissionFacts, reason: string, now = performance.now()): void {
    const policy = target.clientTls;
    if (policy === undefined) return;
    // The same verdict admission.ts judged by: the handshake's facts are cached per connection.
    const check = clientCertificateOf(facts.tls?.(), policy);
    const cert = check.certificate;
    if (cert === undefined || !check.verify.startsWith('FAILED:')) return;
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.logged.clear();
    }
    const key = `${target.ingress} ${cert.issuer} ${cert.serialNumber}`;
    if (this.logged.has(key) || this.logged.size >= this.maxLines) {
      this.suppressed++;
      return;
    }
    this.logged.add(key);
    this.logger.warn(
      {
        ingress: target.ingress,
        host: facts.host === undefined ? undefined : normalizeHost(facts.host),
        client: facts.client(),
        reason,
        verify: check.verify,
        subject: distinguishedName(cert.subject),
        serial: cert.serialNumber,
        issuer: distinguishedName(cert.issuer),
        suppressed: this.suppressed,
      },
      'client certificate refused',
    );
    this.suppressed = 0;
  }
}
