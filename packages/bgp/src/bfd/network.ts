/**
 * BFD over single-hop UDP (RFC 5881) on real sockets: one shared receive socket on port 3784 per
 * local address (and interface), demultiplexed by BfdReceiver, and one send socket per session
 * with its own source port.
 */
import { UdpTtlSocket } from '@portico/native';
import { BFD_CONTROL_PORT, SOURCE_PORT_MAX, SOURCE_PORT_MIN } from './constants.js';
import { BfdReceiver } from './receiver.js';
import type { BfdEndpoint, BfdNetwork, BfdTransport } from './transport.js';

interface SharedReceiver {
  socket: UdpTtlSocket;
  receiver: BfdReceiver;
}

export interface UdpBfdNetworkOptions {
  /** Destination (and receive) port; 3784 per RFC 5881 section 4. Tests may change it. */
  controlPort?: number;
  /** Uniform in [0, 1): picks source ports. */
  random?: () => number;
}

export class UdpBfdNetwork implements BfdNetwork {
  private readonly receivers = new Map<string, SharedReceiver>();
  private readonly controlPort: number;
  private readonly random: () => number;

  constructor(options: UdpBfdNetworkOptions = {}) {
    this.controlPort = options.controlPort ?? BFD_CONTROL_PORT;
    this.random = options.random ?? Math.random;
  }

  open(endpoint: BfdEndpoint): BfdTransport {
    const key = `${endpoint.localAddress}%${endpoint.interface ?? ''}`;
    let shared = this.receivers.get(key);
    if (!shared) {
      const receiver = new BfdReceiver();
      const socket = new UdpTtlSocket({
        address: endpoint.localAddress,
        port: this.controlPort,
        interface: endpoint.interface,
        onMessage: (message) => receiver.handle(message),
      });
      shared = { socket, receiver };
      this.receivers.set(key, shared);
    }
    const { receiver } = shared;
    receiver.add(endpoint);
    let sender: UdpTtlSocket;
    try {
      sender = this.openSender(endpoint);
    } catch (error) {
      this.release(key, endpoint);
      throw error;
    }
    let detached = false;
    const detach = (): void => {
      if (detached) return;
      detached = true;
      this.release(key, endpoint);
    };
    let closed = false;
    return {
      send: (packet) => sender.send(packet, endpoint.peerAddress, this.controlPort),
      detach,
      close: () => {
        if (closed) return;
        closed = true;
        sender.close();
        detach();
      },
    };
  }

  private release(key: string, endpoint: BfdEndpoint): void {
    const shared = this.receivers.get(key);
    if (!shared) return;
    shared.receiver.delete(endpoint);
    if (shared.receiver.size === 0) {
      shared.socket.close();
      this.receivers.delete(key);
    }
  }

  /**
   * RFC 5881 section 4: the source port is in 49152-65535 and stays the same for the whole
   * session. Start at a random port and walk the range past ports already in use.
   */
  private openSender(endpoint: BfdEndpoint): UdpTtlSocket {
    const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
    const first = Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      const port = SOURCE_PORT_MIN + ((first + i) % span);
      try {
        return new UdpTtlSocket({ address: endpoint.localAddress, port, interface: endpoint.interface });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
    throw new Error(
      `no free UDP source port in ${SOURCE_PORT_MIN}-${SOURCE_PORT_MAX} on ${endpoint.localAddress}`,
    );
  }
}

/** The process-wide network used by sessions that are not given one. */
export const defaultBfdNetwork: BfdNetwork = new UdpBfdNetwork();
