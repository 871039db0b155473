/**
 * `server-alias: a.example.com, b.example.com`: more host names for the hosts of this Ingress's
 * rules. As in ingress-nginx, an alias serves everything its host serves (every Ingress's paths for
 * that host). An alias that is already a host of some Ingress, or another host's alias, is not
 * taken: the compiler reports it as a RuleConflict (ingress-nginx only logs it).
 *
 * Names are DNS names (`*.` for one wildcard label allowed), compared in lower case.
 */
import type { AnnotationFamily } from './family.js';

export interface AliasChoice {
  /** Consumed by the compiler (host level); never left on a Target. */
  readonly serverAlias?: readonly string[];
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

function parseAliases(value: string): string[] | undefined {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((n) => n.trim().toLowerCase())
        .filter((n) => n !== ''),
    ),
  ];
  if (names.length === 0 || names.some((n) => n.length > 253 || !HOST_NAME.test(n))) return undefined;
  return names.sort();
}

export const aliasAnnotations: AnnotationFamily<AliasChoice> = {
  names: ['server-alias'],
  read(reader) {
    const aliases = reader.read('server-alias', parseAliases, 'a comma-separated list of DNS names');
    return aliases === undefined ? {} : { serverAlias: aliases };
  },
};
