/**
 * What we advertised to one peer (RFC 4271 §3.2 Adj-RIB-Out) and the smallest set of UPDATEs that
 * turns it into the desired set: only changed prefixes are sent, prefixes with identical
 * attributes share UPDATEs, withdrawals are packed too.
 */
import { Afi, type AfiNumber } from './constants.js';
import type { Prefix } from './prefix.js';
import { type CompiledRoute, type ExportContext, exportRoute } from './route.js';
import { type Announcement, packAnnouncement, packWithdrawal, type SendContext } from './sender.js';

export interface RibDiff {
  messages: Buffer[];
  announced: number;
  withdrawn: number;
}

export class AdjRibOut {
  /** Prefix key -> group key of what the peer has from us. */
  private readonly advertised = new Map<string, { prefix: Prefix; groupKey: string }>();

  get size(): number {
    return this.advertised.size;
  }

  clear(): void {
    this.advertised.clear();
  }

  has(prefix: string): boolean {
    return this.advertised.has(prefix);
  }

  /** Computes and records the UPDATEs that make the peer's view equal to `routes`. */
  sync(routes: Iterable<CompiledRoute>, ctx: ExportContext, send: SendContext): RibDiff {
    const groups = new Map<string, Announcement>();
    const wanted = new Set<string>();
    let announced = 0;
    for (const r of routes) {
      const out = exportRoute(r, ctx);
      if (!out) continue;
      wanted.add(r.key);
      if (this.advertised.get(r.key)?.groupKey === out.groupKey) continue;
      this.advertised.set(r.key, { prefix: r.prefix, groupKey: out.groupKey });
      let group = groups.get(out.groupKey);
      if (!group) {
        group = { afi: out.afi, attributes: out.attributes, nextHops: out.nextHops, prefixes: [] };
        groups.set(out.groupKey, group);
      }
      group.prefixes.push(r.prefix);
      announced++;
    }
    const gone: Record<AfiNumber, Prefix[]> = { [Afi.IPV4]: [], [Afi.IPV6]: [] };
    for (const [key, { prefix }] of this.advertised) {
      if (wanted.has(key)) continue;
      this.advertised.delete(key);
      gone[prefix.afi].push(prefix);
    }
    const messages: Buffer[] = [];
    for (const afi of [Afi.IPV4, Afi.IPV6] as const) {
      if (gone[afi].length > 0) messages.push(...packWithdrawal(afi, gone[afi], send));
    }
    for (const group of groups.values()) messages.push(...packAnnouncement(group, send));
    return { messages, announced, withdrawn: gone[Afi.IPV4].length + gone[Afi.IPV6].length };
  }
}
