/**
 * The layer-2 announcer, opened on the first layer-2 IP: a BGP-only site never opens AF_PACKET
 * sockets, so its speaker does not need CAP_NET_RAW.
 */
import type { Announcer } from '@portico/layer2';
import type { Layer2Backend } from './backends.js';

export class LazyLayer2 implements Layer2Backend {
  private announcer: Announcer | undefined;
  private closed = false;

  constructor(private readonly open: () => Announcer) {}

  announce(ip: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('layer-2 announcer is closed'));
    this.announcer ??= this.open();
    return this.announcer.announce(ip);
  }

  withdraw(ip: string): void {
    this.announcer?.withdraw(ip);
  }

  close(): void {
    this.closed = true;
    this.announcer?.close();
  }
}
