/**
 * Layer-2 ownership: exactly one node answers ARP/NDP for an IP.
 *
 * Every speaker computes the same answer from the same inputs, without talking to the API:
 * - the candidates (live eligible nodes, computed by the caller),
 * - the claims: which candidates already announce the IP (each speaker gossips its own set in
 *   its heartbeats, see membership/heartbeat.ts).
 *
 * Rule: if some candidates claim the IP, the best-ranked claimant keeps it (sticky: a node that
 * recovers, or a new endpoint elsewhere, never pulls an IP away from a live eligible owner; two
 * claimants after a partition heals resolve to one). Otherwise the best-ranked candidate takes it.
 * Rank is MetalLB's: SHA-256 of `<node>#<canonical IP>`, compared bytewise, lowest first.
 */
import { createHash } from 'node:crypto';

/** Hashes are recomputed on every decision for every Service: keep them (bounded). */
const hashCache = new Map<string, Buffer>();
const HASH_CACHE_LIMIT = 200_000;

export function electionHash(node: string, ip: string): Buffer {
  const key = `${node}#${ip}`;
  let hash = hashCache.get(key);
  if (!hash) {
    if (hashCache.size >= HASH_CACHE_LIMIT) hashCache.clear();
    hash = createHash('sha256').update(key).digest();
    hashCache.set(key, hash);
  }
  return hash;
}

/** Candidates in election order for `ip` (best first). */
export function rankNodes(ip: string, candidates: Iterable<string>): string[] {
  const keyed = [...new Set(candidates)].map((node) => ({ node, hash: electionHash(node, ip) }));
  keyed.sort((a, b) => Buffer.compare(a.hash, b.hash) || (a.node < b.node ? -1 : 1));
  return keyed.map((k) => k.node);
}

/** The node that announces `ip`, or undefined when there is no candidate. */
export function electOwner(
  ip: string,
  candidates: Iterable<string>,
  claims: (node: string) => boolean,
): string | undefined {
  const ranked = rankNodes(ip, candidates);
  return ranked.find(claims) ?? ranked[0];
}
