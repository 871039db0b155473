/**
 * Rate limits per client address, as ingress-nginx's rate-limit annotations
 * (internal/ingress/annotations/ratelimit, nginx's limit_req and limit_conn):
 *
 * - `limit-rps` / `limit-rpm`: requests per second / minute from one client address, with a burst
 *   of that number times `limit-burst-multiplier` (default 5) taken at once (limit_req `nodelay`);
 * - `limit-connections`: requests in progress at once from one client address (limit_conn: with
 *   HTTP/2, each stream counts);
 * - `limit-allowlist` (alias `limit-whitelist`): comma-separated CIDRs never limited.
 *
 * Over a limit: 503, ingress-nginx's default limit-req-status-code and limit-conn-status-code.
 * The client address is the one the access log shows: the PROXY protocol source or, behind
 * `--trusted-proxies`, the first untrusted address of X-Forwarded-For (forwarded.ts).
 *
 * Each proxy process counts on its own: with N workers (and R replicas) a client spread over them
 * gets up to N × R times the limit, as with ingress-nginx's per-pod zones. The state per limit is
 * bounded (rate-limiter.ts). Values are non-negative integers; 0 is no limit, as in ingress-nginx.
 */
import { parseCidr } from '../forwarded.js';
import type { AnnotationFamily } from './family.js';
import type { AnnotationReader } from './read.js';

export interface RateLimitPolicy {
  /** Requests per second (limit-rpm is carried as its per-second rate); absent: no rate limit. */
  readonly rate?: number;
  /** Requests taken at once above the rate (limit_req burst). */
  readonly burst?: number;
  readonly connections?: number;
  /** CIDRs never limited. */
  readonly allowlist?: readonly string[];
}

export interface RateLimitChoice {
  readonly rateLimit?: RateLimitPolicy;
}

const COUNT = /^\d{1,9}$/;
const count = (v: string): number | undefined => (COUNT.test(v) ? Number(v) : undefined);
const NON_NEGATIVE = 'a non-negative integer';

function cidrList(value: string): string[] | undefined {
  const list = value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  try {
    for (const c of list) parseCidr(c, 'limit-allowlist');
  } catch {
    return undefined;
  }
  return list;
}

export const rateLimitAnnotations: AnnotationFamily<RateLimitChoice> = {
  names: [
    'limit-rps',
    'limit-rpm',
    'limit-connections',
    'limit-burst-multiplier',
    'limit-allowlist',
    'limit-whitelist',
  ],
  read: readRateLimit,
};

function readRateLimit(reader: AnnotationReader): RateLimitChoice {
  const rps = reader.read('limit-rps', count, NON_NEGATIVE) ?? 0;
  const rpm = reader.read('limit-rpm', count, NON_NEGATIVE) ?? 0;
  const connections = reader.read('limit-connections', count, NON_NEGATIVE) ?? 0;
  const multiplier = reader.read('limit-burst-multiplier', count, NON_NEGATIVE) ?? 5;
  const allowlist =
    reader.read('limit-allowlist', cidrList, 'a comma-separated list of CIDRs') ??
    reader.read('limit-whitelist', cidrList, 'a comma-separated list of CIDRs') ??
    [];
  if (rps === 0 && rpm === 0 && connections === 0) return {};
  // ingress-nginx applies both when both are set; the stricter per-second rate is the one that bites
  // first, so one bucket with it (and its burst) stands for both.
  const perSecond = rps > 0 ? rps : 0;
  const perMinute = rpm > 0 ? rpm / 60 : 0;
  const rate = perSecond > 0 && perMinute > 0 ? Math.min(perSecond, perMinute) : perSecond || perMinute;
  const burst = (rate === perSecond && rps > 0 ? rps : rpm) * multiplier;
  const policy: {
    rate?: number;
    burst?: number;
    connections?: number;
    allowlist?: readonly string[];
  } = {};
  if (rate > 0) {
    policy.rate = rate;
    policy.burst = burst;
  }
  if (connections > 0) policy.connections = connections;
  if (allowlist.length > 0) policy.allowlist = allowlist;
  return { rateLimit: policy };
}
