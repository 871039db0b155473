/**
 * A kubeconfig (YAML) pointing at the development server: cluster, a token user, context
 * `portico-dev`. The server speaks plain HTTP; @kubernetes/client-node refuses http:// servers
 * unless insecure-skip-tls-verify is set, so it is (there is no TLS to verify).
 */
export function devKubeconfig(url: string, token = 'portico-dev-token'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: portico-dev',
    '    cluster:',
    `      server: ${url}`,
    '      insecure-skip-tls-verify: true',
    'users:',
    '  - name: portico-dev',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: portico-dev',
    '    context:',
    '      cluster: portico-dev',
    '      user: portico-dev',
    '      namespace: default',
    'current-context: portico-dev',
    'preferences: {}',
    '',
  ].join('\n');
}
