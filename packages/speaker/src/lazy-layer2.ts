/**
 * The layer-2 announcer, opened on the first layer-2 IP: a BGP-only site never opens AF_PACKET
 * sockets, so its speaker does not need CAP_NET_RAW.
 */
import type { Announcer } from '@portico/layer2';
import type { Layer2Backend, Layer2Conflict } from './backends.js';

export class LazyLayer2 implements Layer2Backend {
  private announcer: Announcer | undefined;
  private closed = false;
  private readonly conflictListeners: Array<(conflict: Layer2Conflict) => void> = [];
  private gate: ((ip: string) => boolean) | undefined;

  constructor(private readonly open: () => Announcer) {}

  announce(ip: string, interfaces?: readonly string[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('layer-2 announcer is closed'));
    if (!this.announcer) {
      this.announcer = this.open();
      if (this.gate) this.announcer.mayAnswer = this.gate;
      this.announcer.on('conflict', (c) => {
        for (const l of this.conflictListeners) l(c);
      });
    }
    return this.announcer.announce(ip, interfaces);
  }

  onConflict(listener: (conflict: Layer2Conflict) => void): void {
    this.conflictListeners.push(listener);
  }

  setGate(mayAnswer: (ip: string) => boolean): void {
    this.gate = mayAnswer;
    if (this.announcer) this.announcer.mayAnswer = mayAnswer;
  }

  withdraw(ip: string): void {
    this.announcer?.withdraw(ip);
  }

  close(): void {
    this.closed = true;
    this.announcer?.close();
  }
}
