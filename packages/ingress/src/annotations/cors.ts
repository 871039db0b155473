/**
 * CORS answered by the proxy, as ingress-nginx does it (its cors annotations and template):
 *
 * - `enable-cors: "true"` turns it on; the other settings only matter then.
 * - `cors-allow-origin` (default `*`): comma-separated origins `scheme://host[:port]`, `null`, or
 *   `*`; `https://*.example.com` allows one extra label. Matched case-insensitively against the
 *   whole Origin (ingress-nginx leaves the start unanchored; we do not, so `https://evil-a.com`
 *   cannot pass for `https://a.com`). An origin that is not of that form is skipped and reported.
 * - `cors-allow-methods` (default `GET, PUT, POST, DELETE, PATCH, OPTIONS`), `cors-allow-headers`
 *   (default ingress-nginx's list), `cors-expose-headers` (default none), `cors-allow-credentials`
 *   (default true), `cors-max-age` (seconds, default 1728000).
 *
 * A request whose Origin is allowed (any request when the origin is `*`) gets the
 * Access-Control-* headers on its response; an allowed OPTIONS request is a preflight and is
 * answered by the proxy with 204 and those headers, never reaching the pod.
 */
import type { AnnotationFamily } from './family.js';

export interface CorsPolicy {
  /** `*` alone, or origins as written (lower case), `*.` wildcards included. */
  readonly origins: readonly string[];
  /** Every header of a CORS answer except Access-Control-Allow-Origin: [name, value, …]. */
  readonly headers: readonly string[];
}

export interface CorsChoice {
  readonly cors?: CorsPolicy;
}

const DEFAULT_METHODS = 'GET, PUT, POST, DELETE, PATCH, OPTIONS';
const DEFAULT_HEADERS =
  'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';
const DEFAULT_MAX_AGE = 1728000;

const ORIGIN = /^(?:[a-z]+:\/\/(?:\*\.)?[A-Za-z0-9\-.]*(?::\d+)?|null)$/;
const METHODS = /^(?:[A-Za-z]+,?\s?)+$/;
const HEADERS = /^[A-Za-z0-9\-_, ]*$/;
const EXPOSE = /^(?:(?:[A-Za-z0-9\-_]+|\*),?\s?)+$/;

const matching = (re: RegExp) => (v: string) => (v.length <= 1024 && re.test(v) ? v : undefined);

export const corsAnnotations: AnnotationFamily<CorsChoice> = {
  names: [
    'enable-cors',
    'cors-allow-origin',
    'cors-allow-methods',
    'cors-allow-headers',
    'cors-expose-headers',
    'cors-allow-credentials',
    'cors-max-age',
  ],
  read(reader) {
    const enabled = reader.boolean('enable-cors') === true;
    const origins = allowedOrigins(reader.raw('cors-allow-origin'), (a, v) =>
      reader.refuse(a, v, 'origins `scheme://host[:port]`, `null` or `*`', 'that origin is skipped'),
    );
    const methods =
      reader.read('cors-allow-methods', matching(METHODS), 'a comma-separated list of methods') ??
      DEFAULT_METHODS;
    const allowHeaders =
      reader.read('cors-allow-headers', matching(HEADERS), 'a comma-separated list of header names') ??
      DEFAULT_HEADERS;
    const expose = reader.read(
      'cors-expose-headers',
      matching(EXPOSE),
      'a comma-separated list of header names or *',
    );
    const credentials = reader.boolean('cors-allow-credentials') ?? true;
    const maxAge =
      reader.read(
        'cors-max-age',
        (v) => (/^-?\d{1,10}$/.test(v) ? Number(v) : undefined),
        'a number of seconds',
      ) ?? DEFAULT_MAX_AGE;
    if (!enabled) return {};
    const headers = [
      ...(credentials ? ['access-control-allow-credentials', 'true'] : []),
      'access-control-allow-methods',
      methods,
      'access-control-allow-headers',
      allowHeaders,
      ...(expose ? ['access-control-expose-headers', expose] : []),
      'access-control-max-age',
      String(maxAge),
    ];
    return { cors: { origins, headers } };
  },
};

/** The origins list: `*` when absent; invalid entries skipped, each reported. */
function allowedOrigins(
  found: { annotation: string; value: string } | undefined,
  refuse: (annotation: string, value: string) => void,
): string[] {
  if (!found) return ['*'];
  const out: string[] = [];
  for (const raw of found.value.split(',')) {
    const origin = raw.trim();
    if (origin === '') continue;
    if (origin === '*') return ['*'];
    if (ORIGIN.test(origin)) out.push(origin.toLowerCase());
    else refuse(found.annotation, origin);
  }
  return out;
}

/** The compiled origin check (in the worker, once per table): the whole Origin, case-insensitive. */
export function originRegex(origins: readonly string[]): RegExp {
  const alternatives = origins.map((o) =>
    o.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\*', '[A-Za-z0-9\\-]+'),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`, 'i');
}
