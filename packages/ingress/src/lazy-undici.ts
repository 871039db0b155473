/**
 * The undici package, loaded on first use. Only some requests need it (HTTP/2 and handed-over
 * requests, HTTPS or h2c backends, forward auth: upstreams.ts, auth-connections.ts); plain HTTP/1.1
 * traffic takes the fast path's own pool. Loading it costs each process about 7 MiB of RSS, so an
 * idle primary or worker does not pay for it (issue 12). undici is CommonJS: require() loads it
 * synchronously where a pool is made.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let loaded: typeof Undici | undefined;

export function undici(): typeof Undici {
  return (loaded ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
