/**
 * What we advertised to one peer (RFC 4271 §3.2 Adj-RIB-Out) and the smallest set of UPDATEs that
 * turns it into the desired set: only changed prefixes are sent, prefixes with identical
 * attributes share UPDATEs, withdrawals are packed too and ride with announcements when they fit.
 */
import { Afi, type AfiNumber } from './constants.js';
import { parsePrefix, type Prefix } from './prefix.js';
import { type CompiledRoute, type ExportContext, type ExportedRoute, exportRoute } from './route.js';
import { type Announcement, packChanges, type SendContext } from './sender.js';

export interface RibDiff {
  messages: Buffer[];
  announced: number;
  withdrawn: number;
}

export class AdjRibOut {
  /**
   * Prefix key -> group key of what the peer has from us. Group key strings are shared by all the
   * routes of a group, so a full table costs no object per route; a withdrawal re-parses its key.
   */
  private readonly advertised = new Map<string, string>();

  get size(): number {
    return this.advertised.size;
  }

  clear(): void {
    this.advertised.clear();
  }

  has(prefix: string): boolean {
    return this.advertised.has(prefix);
  }

  /**
   * Computes and records the UPDATEs that make the peer's view equal to `routes`. With `changed`,
   * only those prefix keys are looked at (the rest is known to be in sync): that keeps steady
   * churn proportional to the changes, not to the table size.
   */
  sync(
    routes: Iterable<CompiledRoute> | Map<string, CompiledRoute>,
    ctx: ExportContext,
    send: SendContext,
    changed?: Iterable<string>,
  ): RibDiff {
    const groups = new Map<string, Announcement>();
    const gone: Record<AfiNumber, Prefix[]> = { [Afi.IPV4]: [], [Afi.IPV6]: [] };
    let announced = 0;
    // Routes with equal export keys export identically (route.ts): one export per key, and one
    // shared group key string per group, which also makes the comparison below cheap.
    const exports = new Map<string, ExportedRoute | null>();
    // Neighbouring routes usually share their attributes: check the last key before the map.
    let lastKey: string | undefined;
    let last: ExportedRoute | null = null;
    const consider = (r: CompiledRoute): boolean => {
      let out = r.exportKey === lastKey ? last : exports.get(r.exportKey);
      if (out === undefined) {
        out = exportRoute(r, ctx) ?? null;
        exports.set(r.exportKey, out);
      }
      lastKey = r.exportKey;
      last = out;
      if (!out) return false;
      if (this.advertised.get(r.key) === out.groupKey) return true;
      this.advertised.set(r.key, out.groupKey);
      let group = groups.get(out.groupKey);
      if (!group) {
        group = { afi: out.afi, attributes: out.attributes, nextHops: out.nextHops, prefixes: [] };
        groups.set(out.groupKey, group);
      }
      group.prefixes.push(r.prefix);
      announced++;
      return true;
    };
    const drop = (key: string) => {
      if (!this.advertised.delete(key)) return;
      const prefix = parsePrefix(key);
      gone[prefix.afi].push(prefix);
    };
    if (changed && routes instanceof Map) {
      for (const key of changed) {
        const r = routes.get(key);
        if (!r || !consider(r)) drop(key);
      }
    } else if (this.advertised.size === 0) {
      // A fresh peer (the initial table): nothing to withdraw, so no set of wanted keys to build.
      for (const r of routes instanceof Map ? routes.values() : routes) consider(r);
    } else {
      const wanted = new Set<string>();
      for (const r of routes instanceof Map ? routes.values() : routes) if (consider(r)) wanted.add(r.key);
      for (const key of [...this.advertised.keys()]) if (!wanted.has(key)) drop(key);
    }
    // Each key ends this sync either in `gone` or in one group, never both, as packChanges needs
    // (RFC 4271 §4.3, RFC 4760 §3: no prefix both withdrawn and announced in one UPDATE).
    const messages = packChanges(gone, groups.values(), send);
    return { messages, announced, withdrawn: gone[Afi.IPV4].length + gone[Afi.IPV6].length };
  }
}
