/**
 * An address for test "pods" that both API servers accept in an EndpointSlice: one of this host's
 * own IPv4 addresses on a real interface. Kubernetes (and so our development API server) refuses
 * loopback and link-local endpoint addresses, so a backend on 127.0.0.1 cannot be an endpoint;
 * traffic to the host's own address still never leaves the machine.
 */
import { networkInterfaces } from 'node:os';

export function hostEndpointAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
  if (!address)
    throw new Error(
      'no IPv4 address on a non-loopback interface: test backends need one, because the API servers ' +
        'refuse loopback and link-local EndpointSlice addresses',
    );
  return address;
}
