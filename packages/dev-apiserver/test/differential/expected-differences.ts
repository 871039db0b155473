/**
 * The differences between the development API server and kube-apiserver that are intentional,
 * row by row, exactly as the comparison reports them: the suite fails when one of them changes or
 * disappears (then this file and the table in docs/dev-apiserver.md are brought up to date), and
 * when a row differs that is not listed here.
 */
import type { Difference } from './normalize.js';

export interface ExpectedDifference {
  /** Why the development server answers differently (the docs table says the same). */
  why: string;
  differences: Difference[];
}

const WATCH_CACHE =
  'The suite runs kube-apiserver without its watch cache (so that compaction is final at once); ' +
  'etcd then words the expiry of a watch differently. With the watch cache, the default of every ' +
  'real cluster, the message is the one the development server gives; code 410 and reason ' +
  'Expired, which clients act on, are the same.';

const expiredWatch: Difference[] = [
  {
    path: '.events[0].object.message',
    real: 'The resourceVersion for the provided watch is too old.',
    dev: 'too old resource version: rv (rv)',
  },
];

export const EXPECTED_DIFFERENCES: Record<string, ExpectedDifference> = {
  'w-expired': { why: WATCH_CACHE, differences: expiredWatch },
  'w-expired-selector': { why: WATCH_CACHE, differences: expiredWatch },
  'w-after-compaction-from-now': { why: WATCH_CACHE, differences: expiredWatch },
};
