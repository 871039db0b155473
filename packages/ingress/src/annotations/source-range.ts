/**
 * Who may use an Ingress's routes, by client address (ingress-nginx's `allowlist-source-range`,
 * its older name `whitelist-source-range`, and `denylist-source-range`): comma-separated IPv4 and
 * IPv6 addresses or CIDRs. A client in the denylist, or outside a present allowlist, gets 403.
 * The client is the address the proxy believes (forwarded.ts: the PROXY protocol source, then the
 * X-Forwarded-For chain of trusted proxies).
 *
 * Fail closed: a list with an entry that is not an address or CIDR makes the routes answer 403 to
 * everyone until it is fixed, reported as an InvalidAnnotation problem (Warning Event). A typo must
 * not open a route that was meant to be restricted (or let in clients meant to be kept out);
 * ingress-nginx denies such a location too (503).
 */
import { parseCidr } from '../forwarded.js';
import type { AnnotationFamily } from './family.js';
import type { AnnotationReader } from './read.js';

export interface SourceRangeChoice {
  /** Clients allowed; empty: nobody (an unusable list). */
  readonly allowSources?: readonly string[];
  readonly denySources?: readonly string[];
}

const EXPECTED = 'a comma-separated list of IP addresses or CIDRs';
const CLOSED = 'every client of these routes gets 403 until it is fixed';

/** The list under `names` (first present wins), or 'bad' after reporting it. */
function list(reader: AnnotationReader, names: readonly string[]): string[] | 'bad' | undefined {
  for (const name of names) {
    const found = reader.raw(name);
    if (!found) continue;
    const entries = found.value
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    try {
      if (entries.length === 0) throw new Error('empty');
      for (const e of entries) parseCidr(e, found.annotation);
      return entries;
    } catch {
      reader.refuse(found.annotation, found.value, EXPECTED, CLOSED);
      return 'bad';
    }
  }
  return undefined;
}

export const sourceRangeAnnotations: AnnotationFamily<SourceRangeChoice> = {
  names: ['allowlist-source-range', 'whitelist-source-range', 'denylist-source-range'],
  read(reader) {
    const allow = list(reader, ['allowlist-source-range', 'whitelist-source-range']);
    const deny = list(reader, ['denylist-source-range']);
    if (allow === 'bad' || deny === 'bad') return { allowSources: [] };
    return { ...(allow && { allowSources: allow }), ...(deny && { denySources: deny }) };
  },
};
