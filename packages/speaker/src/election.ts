/**
 * Layer-2 ownership: exactly one node answers ARP/NDP for an IP.
 *
 * Every speaker computes the same answer from the same inputs, without talking to the API:
 * - the candidates (live eligible nodes, computed by the caller),
 * - the claims: which candidates already claim the IP, and whether they answer for it (`held`),
 *   answered for it until their grants ran out and still claim it (`lapsed`: cut off or starved
 *   for a moment), or wait for their first grants (`pending`); each speaker gossips its own in
 *   its heartbeats (see membership/).
 *
 * Rule: the best-ranked candidate that answers for the IP keeps it; failing that, the
 * best-ranked one whose claim lapsed; failing that, the best-ranked one waiting for it; failing
 * that, the best-ranked candidate takes it. This is stickiness: a node that recovers, or a new
 * endpoint elsewhere, never pulls an IP away from a live eligible owner; an owner that wakes from
 * a stall gets its IP back rather than handing it to a better-ranked node that claimed it
 * meanwhile but was not granted it yet; and a node that comes back from a partition with a stale
 * claim gives way to the one that answered meanwhile. Rank is MetalLB's: the preference score
 * (highest first, when L2Advertisements have preferredNodeSelectors), then SHA-256 of
 * `<node>#<canonical IP>` compared bytewise, lowest first.
 *
 * The election only says who should try: the grants of a majority (membership/grants.ts) decide
 * who may answer, so nodes that disagree for a moment (different views during a partition)
 * never both answer.
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

/**
 * Candidates in election order for `ip` (best first). With `score` (the L2Advertisements'
 * preferredNodeSelectors weights, as MetalLB adds them up), a higher score ranks first and the
 * hash orders equal scores.
 */
export function rankNodes(
  ip: string,
  candidates: Iterable<string>,
  score?: (node: string) => number,
): string[] {
  const keyed = [...new Set(candidates)].map((node) => ({
    node,
    hash: electionHash(node, ip),
    score: score ? score(node) : 0,
  }));
  keyed.sort((a, b) => b.score - a.score || Buffer.compare(a.hash, b.hash) || (a.node < b.node ? -1 : 1));
  return keyed.map((k) => k.node);
}

/** A candidate's claim on an IP: true is the same as `held`. */
export type Claim = boolean | 'held' | 'lapsed' | 'pending' | undefined;

/** The node that should announce `ip`, or undefined when there is no candidate. */
export function electOwner(
  ip: string,
  candidates: Iterable<string>,
  claims: (node: string) => Claim,
  score?: (node: string) => number,
): string | undefined {
  const ranked = rankNodes(ip, candidates, score);
  const state = ranked.map((node) => claims(node));
  const held = ranked.findIndex((_, i) => state[i] === true || state[i] === 'held');
  if (held >= 0) return ranked[held];
  const lapsed = state.indexOf('lapsed');
  if (lapsed >= 0) return ranked[lapsed];
  const pending = state.indexOf('pending');
  return pending >= 0 ? ranked[pending] : ranked[0];
}
