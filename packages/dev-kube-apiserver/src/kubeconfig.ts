/** A kubeconfig with one cluster (CA embedded), one bearer-token user and one current context. */
export interface KubeconfigParts {
  url: string;
  caCert: string;
  token: string;
  user: string;
  context: string;
}

export function kubeconfigYaml(p: KubeconfigParts): string {
  const ca = Buffer.from(p.caCert).toString('base64');
  // JSON is YAML: no quoting rules to get wrong for tokens or names.
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: p.context, cluster: { server: p.url, 'certificate-authority-data': ca } }],
      users: [{ name: p.user, user: { token: p.token } }],
      contexts: [{ name: p.context, context: { cluster: p.context, user: p.user, namespace: 'default' } }],
      'current-context': p.context,
    },
    null,
    2,
  )}\n`;
}
