// The cluster state the in-process benchmarks compile: one Ingress with one Prefix rule `/` on
// `host`, its Service `service` and one ready endpoint, the pod at `podAddress:podPort`.
export function oneRouteState({ host, service, podAddress, podPort, annotations }) {
  return {
    ingresses: [
      {
        metadata: { name: 'bench', namespace: 'default', annotations, creationTimestamp: new Date(0) },
        spec: {
          ingressClassName: 'portico',
          rules: [
            {
              host,
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: service, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
    classes: [{ metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } }],
    services: [
      { metadata: { name: service, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80 }] } },
    ],
    endpointSlices: [
      {
        metadata: {
          name: `${service}-1`,
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': service },
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: podPort }],
        endpoints: [{ addresses: [podAddress], conditions: { ready: true, serving: true } }],
      },
    ],
    secrets: [],
  };
}
