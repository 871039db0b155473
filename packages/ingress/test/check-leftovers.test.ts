/**
 * `portico ingress check` on the annotations added for issue 15's leftovers: auth-tls-*, limit-rate
 * and limit-rate-after are printed as what Portico will do, a bad value as not honoured, and a
 * CA Secret the check cannot see is not reported (only the cluster has Secrets).
 */
import { describe, expect, it } from 'vitest';
import { checkIngresses, formatIngressCheck, hasProblems } from '@portico/ingress';
import { ingress, rule } from './fixtures.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;
const withAnnotations = (annotations: Record<string, string>) => [
  {
    source: 'shop.yaml document 1',
    object: {
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      ...ingress(
        'shop',
        { rules: [rule('shop.test', { path: '/', svc: 'web' })], ingressClassName: 'portico' },
        { annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [nginx(k), v])) },
      ),
    },
  },
];

describe('portico ingress check', () => {
  it('auth-tls-* and limit-rate as Portico reads them; nothing to report', () => {
    const check = checkIngresses(
      withAnnotations({
        'auth-tls-secret': 'default/client-ca',
        'auth-tls-verify-client': 'optional',
        'auth-tls-pass-certificate-to-upstream': 'true',
        'limit-rate': '100',
        'limit-rate-after': '1024',
      }),
    );
    const text = formatIngressCheck(check);
    expect(text).toContain(
      '  clientTls: {"secret":"default/client-ca","verify":"optional","depth":1,"passCertificate":true}',
    );
    expect(text).toContain('  responseRate: {"bytesPerSecond":102400,"after":1048576}');
    expect(hasProblems(check)).toBe(false);
  });

  it('a bad value is not honoured, named with the annotation', () => {
    const check = checkIngresses(
      withAnnotations({ 'auth-tls-secret': 'default/client-ca', 'auth-tls-verify-client': 'sometimes' }),
    );
    expect(formatIngressCheck(check)).toContain(
      `not honoured (InvalidAnnotation): metadata.annotations["${nginx('auth-tls-verify-client')}"]: "sometimes" is not "on", "off", "optional" or "optional_no_ca"; ignored`,
    );
    expect(hasProblems(check)).toBe(true);
  });

  it('auth-keepalive* printed with forward auth; a value that turns keep-alive off says so', () => {
    const url = 'http://auth.example.com/check';
    const kept = checkIngresses(
      withAnnotations({ 'auth-url': url, 'auth-keepalive': '8', 'auth-keepalive-timeout': '30' }),
    );
    expect(formatIngressCheck(kept)).toContain(
      `  forwardAuth: {"url":"${url}","keepalive":{"connections":8,"requests":1000,"timeoutSeconds":30,"shareVars":false}}`,
    );
    expect(hasProblems(kept)).toBe(false);
    const off = checkIngresses(
      withAnnotations({ 'auth-url': url, 'auth-keepalive': '8', 'auth-keepalive-requests': '0' }),
    );
    expect(formatIngressCheck(off)).toContain(
      `not honoured (InvalidAnnotation): metadata.annotations["${nginx('auth-keepalive-requests')}"]: "0" is not a whole number above 0; auth-keepalive is off: a new connection per subrequest`,
    );
  });
});
