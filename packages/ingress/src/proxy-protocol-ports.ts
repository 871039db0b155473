/**
 * Which listeners of an ingress server require a PROXY protocol header (`--proxy-protocol`): opt-in
 * per port, because the header is mandatory where it is on. A load balancer sending it to a port
 * that does not expect it would have its header read as a bad request, and a port expecting it
 * refuses every client that connects without one.
 */
import type { IngressServer } from './server.js';
import { requireProxyProtocol } from './proxy-protocol-listener.js';

export interface ProxyProtocolPorts {
  readonly http: boolean;
  readonly https: boolean;
}

/**
 * `--proxy-protocol` as given: `all`, `none`, or a comma-separated list of listener ports, each of
 * which must be the HTTP or the HTTPS port.
 */
export function parseProxyProtocolPorts(
  value: string,
  httpPort: number,
  httpsPort: number | null,
): ProxyProtocolPorts {
  const v = value.trim();
  if (v === 'all') return { http: true, https: httpsPort !== null };
  if (v === 'none' || v === '') return { http: false, https: false };
  const ports = { http: false, https: false };
  for (const item of v.split(',')) {
    const port = item.trim();
    if (!/^\d+$/.test(port)) throw new Error(`--proxy-protocol: not a port: ${JSON.stringify(port)}`);
    if (Number(port) === httpPort) ports.http = true;
    else if (Number(port) === httpsPort) ports.https = true;
    else
      throw new Error(
        `--proxy-protocol: port ${port} is neither the HTTP port (${httpPort}) nor the HTTPS port (${httpsPort ?? 'off'})`,
      );
  }
  return ports;
}

/**
 * Puts the header check on the chosen listeners; refusals are counted and logged at debug level.
 * Returns a function that closes the connections still waiting for a header (on shutdown).
 */
export function enableProxyProtocol(
  server: IngressServer,
  ports: ProxyProtocolPorts,
  timeoutMs: number,
): () => void {
  const proxy = server.proxy;
  const onRefused = (reason: string, socket: { remoteAddress?: string | undefined }): void => {
    proxy.countConnectionError('fast', 'proxy_protocol');
    proxy.options.log?.debug({ peer: socket.remoteAddress, reason }, 'PROXY protocol header refused');
  };
  const closers: (() => void)[] = [];
  if (ports.http) closers.push(requireProxyProtocol(server.http1.server, { timeoutMs, onRefused }));
  if (ports.https && server.tls1)
    closers.push(requireProxyProtocol(server.tls1.server, { timeoutMs, onRefused }));
  return () => closers.forEach((close) => close());
}
