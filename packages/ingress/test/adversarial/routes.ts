/**
 * The routes both proxies serve, in front of the same three recording pods:
 *
 *   app.example    Prefix /public -> pod "public"
 *   app.example    Prefix /api    -> pod "api"
 *   other.example  Prefix /       -> pod "other"
 *
 * Anything else is 404 (no default backend). As Kubernetes objects for Portico (routeState), and
 * as an nginx configuration shaped like ingress-nginx's (nginxConf).
 */
import type { V1EndpointSlice, V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node';

export type PodName = 'public' | 'api' | 'other';
export const POD_NAMES: readonly PodName[] = ['public', 'api', 'other'];
export type PodPorts = Record<PodName, number>;

export const APP = 'app.example';
export const OTHER = 'other.example';

export function routeState(pods: PodPorts): {
  ingresses: V1Ingress[];
  classes: V1IngressClass[];
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  secrets: [];
} {
  const backend = (name: PodName) => ({ service: { name, port: { number: 80 } } });
  return {
    ingresses: [
      {
        metadata: { name: 'adversarial', namespace: 'default', creationTimestamp: new Date(0) },
        spec: {
          ingressClassName: 'portico',
          rules: [
            {
              host: APP,
              http: {
                paths: [
                  { path: '/public', pathType: 'Prefix', backend: backend('public') },
                  { path: '/api', pathType: 'Prefix', backend: backend('api') },
                ],
              },
            },
            { host: OTHER, http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('other') }] } },
          ],
        },
      },
    ],
    classes: [{ metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress' } }],
    services: POD_NAMES.map((name) => ({
      metadata: { name, namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    })),
    endpointSlices: POD_NAMES.map((name) => ({
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: pods[name] }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true } }],
    })),
    secrets: [],
  };
}

export interface NginxPorts {
  http: number;
  https: number;
}

/**
 * nginx as ingress-nginx configures it, reduced to what matters here: HTTP/1.1 keep-alive
 * upstreams, Host from $host, the Upgrade/Connection map for WebSockets, request buffering on and
 * response buffering off, 1 MiB body limit, short client timeouts like the proxy under test.
 */
export function nginxConf(dir: string, pods: PodPorts, ports: NginxPorts, timeoutSeconds: number): string {
  const locations = `
    location = /public { proxy_pass http://public; }
    location /public/ { proxy_pass http://public; }
    location = /api { proxy_pass http://api; }
    location /api/ { proxy_pass http://api; }
    location / { return 404; }`;
  const server = (listen: string, name: string, body: string) =>
    `  server { ${listen} server_name ${name};${body}\n  }\n`;
  const tls = `ssl_certificate ${dir}/tls.crt; ssl_certificate_key ${dir}/tls.key;`;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  client_header_timeout ${timeoutSeconds}s; client_body_timeout ${timeoutSeconds}s;
  send_timeout ${timeoutSeconds}s; keepalive_timeout 5s;
  proxy_connect_timeout 2s; proxy_read_timeout ${timeoutSeconds * 2}s; proxy_send_timeout ${timeoutSeconds * 2}s;
  client_max_body_size 1m;
  proxy_http_version 1.1;
  proxy_buffering off;
  proxy_request_buffering on;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  proxy_set_header Host $host;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $connection_upgrade;
  proxy_set_header X-Forwarded-For $remote_addr;
  proxy_set_header X-Forwarded-Proto $scheme;
  upstream public { server 127.0.0.1:${pods.public}; keepalive 16; }
  upstream api { server 127.0.0.1:${pods.api}; keepalive 16; }
  upstream other { server 127.0.0.1:${pods.other}; keepalive 16; }
  server { listen 127.0.0.1:${ports.http} default_server; listen 127.0.0.1:${ports.https} ssl http2 default_server;
    ${tls} return 404; }
${server(`listen 127.0.0.1:${ports.http}; listen 127.0.0.1:${ports.https} ssl http2; ${tls}`, APP, locations)}${server(
    `listen 127.0.0.1:${ports.http}; listen 127.0.0.1:${ports.https} ssl http2; ${tls}`,
    OTHER,
    '\n    location / { proxy_pass http://other; }',
  )}}
`;
}
