/**
 * The voter's side of layer-2 ownership: to whom this node grants each IP.
 *
 * The promise that makes it safe: once this node has granted an IP to a member, it grants it to
 * no other member while that member still holds it in this node's view, i.e. while it is alive
 * here (this node acknowledged one of its heartbeats received less than `suspicionMs` ago) and
 * its last complete claim list still names the IP. First come, first served; a claimant that is
 * refused learns it from the acknowledgement and gives way (see the election rule).
 *
 * This node's own claims go through the same table: it claims an IP only when it may grant it
 * to itself.
 */

export class GrantTable {
  private readonly grantedTo = new Map<string, string>();

  /** `holds(node, ip)`: whether a member still holds an IP it was granted (see above). */
  constructor(private readonly holds: (node: string, ip: string) => boolean) {}

  /** The member this node granted `ip` to, if it still holds it. */
  holder(ip: string): string | undefined {
    const node = this.grantedTo.get(ip);
    return node !== undefined && this.holds(node, ip) ? node : undefined;
  }

  /** Grants `ip` to `node` unless another member holds it; true when granted. */
  grant(node: string, ip: string): boolean {
    const holder = this.holder(ip);
    if (holder !== undefined && holder !== node) return false;
    this.grantedTo.set(ip, node);
    return true;
  }

  /** Grants what it can of a claim list; returns the refused IPs. */
  decide(node: string, ips: Iterable<string>): string[] {
    const refused: string[] = [];
    for (const ip of ips) if (!this.grant(node, ip)) refused.push(ip);
    return refused;
  }

  /** Forgets grants whose holder no longer holds them (memory only: they bind nobody). */
  prune(): void {
    for (const [ip, node] of this.grantedTo) if (!this.holds(node, ip)) this.grantedTo.delete(ip);
  }

  get size(): number {
    return this.grantedTo.size;
  }
}
