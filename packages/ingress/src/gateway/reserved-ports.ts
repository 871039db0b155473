/**
 * The ports a Gateway listener must not take because the ingress process serves them itself: its
 * metrics and health port (on every address), and the Ingress HTTP and HTTPS ports when they are
 * bound where the Gateways are served (the same address, or either one a wildcard). The workers
 * bind their ports with SO_REUSEPORT, so a listener on one of them would not even fail: the kernel
 * would share the port's connections between the Ingress and the Gateway servers.
 */
export interface ProcessPorts {
  /** Where the Gateway listeners are served (--gateway-address). */
  readonly gatewayAddress: string;
  /** Where the Ingress ports are bound (--listen-address). */
  readonly listenAddress: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The metrics and health port (--metrics-port), bound on every address. */
  readonly metricsPort: number;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** Whether sockets bound on `a` and `b` at one port would meet. */
function overlap(a: string, b: string): boolean {
  return isWildcard(a) || isWildcard(b) || a === b;
}

/** Port -> what uses it, for GatewayCompileOptions.reservedPorts. */
export function reservedGatewayPorts(p: ProcessPorts): Map<number, string> {
  const reserved = new Map<number, string>();
  if (overlap(p.gatewayAddress, p.listenAddress)) {
    reserved.set(p.httpPort, 'its Ingress HTTP port, --http-port');
    reserved.set(p.httpsPort, 'its Ingress HTTPS port, --https-port');
  }
  // Set last: the metrics port wins the description when it is also an Ingress port.
  reserved.set(p.metricsPort, 'its metrics and health port, --metrics-port');
  reserved.delete(0);
  return reserved;
}
