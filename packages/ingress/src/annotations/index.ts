/**
 * Every annotation family Portico reads on an Ingress, and what it makes of the rest:
 *
 * - each family (one file per feature) reads its settings into the route policy its Targets carry;
 * - snippet annotations are refused: they inject raw nginx configuration, the surface behind
 *   ingress-nginx's worst CVEs (CVE-2021-25742 read every Secret through them), and Portico has no
 *   configuration language to inject into;
 * - any other annotation under either prefix is unknown: reported, never guessed at.
 */
import { AnnotationReader, NGINX_PREFIX, PORTICO_PREFIX, type BadAnnotation } from './read.js';
import { redirectAnnotations, type RedirectChoice } from './redirect.js';
import { proxyLimitsAnnotations, type ProxyLimitsChoice } from './proxy-limits.js';
import { canaryAnnotations, type CanaryChoice } from './canary.js';
import { backendProtocolAnnotations, type BackendProtocolChoice } from './backend-protocol.js';
import { affinityAnnotations, type AffinityChoice } from './affinity.js';
import { rewriteAnnotations, type RewriteChoice } from './rewrite.js';
import { urlRedirectAnnotations, type UrlRedirectChoice } from './url-redirect.js';
import { aliasAnnotations, type AliasChoice } from './alias.js';
import { sourceRangeAnnotations, type SourceRangeChoice } from './source-range.js';
import { corsAnnotations, type CorsChoice } from './cors.js';
import { basicAuthAnnotations, type BasicAuthChoice } from './basic-auth.js';
import { rateLimitAnnotations, type RateLimitChoice } from './rate-limit.js';
import { forwardAuthAnnotations, type ForwardAuthChoice } from './forward-auth.js';
import { clientTlsAnnotations, type ClientTlsChoice } from './client-tls.js';
import { responseRateAnnotations, type ResponseRateChoice } from './response-rate.js';

export * from './family.js';
export * from './read.js';
export * from './redirect.js';
export * from './proxy-limits.js';
export * from './canary.js';
export * from './backend-protocol.js';
export * from './affinity.js';
export * from './rewrite.js';
export * from './url-redirect.js';
export * from './alias.js';
export * from './source-range.js';
export * from './cors.js';
export * from './basic-auth.js';
export * from './rate-limit.js';
export * from './forward-auth.js';
export * from './client-tls.js';
export * from './response-rate.js';

/** What one Ingress's annotations ask of the routes it defines (the Target fields they own). */
export type RoutePolicy = RedirectChoice &
  ProxyLimitsChoice &
  CanaryChoice &
  BackendProtocolChoice &
  AffinityChoice &
  RewriteChoice &
  UrlRedirectChoice &
  AliasChoice &
  SourceRangeChoice &
  CorsChoice &
  BasicAuthChoice &
  RateLimitChoice &
  ForwardAuthChoice &
  ClientTlsChoice &
  ResponseRateChoice;

const FAMILIES = [
  redirectAnnotations,
  proxyLimitsAnnotations,
  canaryAnnotations,
  backendProtocolAnnotations,
  affinityAnnotations,
  rewriteAnnotations,
  urlRedirectAnnotations,
  aliasAnnotations,
  sourceRangeAnnotations,
  corsAnnotations,
  basicAuthAnnotations,
  rateLimitAnnotations,
  forwardAuthAnnotations,
  clientTlsAnnotations,
  responseRateAnnotations,
];

/** The snippet annotations of ingress-nginx, refused whatever their value. */
export const SNIPPET_ANNOTATIONS: readonly string[] = [
  'configuration-snippet',
  'server-snippet',
  'location-snippet',
  'auth-snippet',
  'stream-snippet',
  'modsecurity-snippet',
];

const KNOWN = new Set(FAMILIES.flatMap((f) => f.names));
const SNIPPETS = new Set(SNIPPET_ANNOTATIONS);

export interface IngressAnnotations {
  readonly policy: RoutePolicy;
  /** Values that could not be used; the setting keeps its default. */
  readonly bad: readonly BadAnnotation[];
  /** Snippet annotations present (full names): refused. */
  readonly refused: readonly string[];
  /** Annotations under either prefix that Portico does not read (full names). */
  readonly unknown: readonly string[];
}

const NOTHING: IngressAnnotations = Object.freeze({
  policy: Object.freeze({}),
  bad: Object.freeze([]),
  refused: Object.freeze([]),
  unknown: Object.freeze([]),
});

export function readIngressAnnotations(
  annotations: Readonly<Record<string, string>> = {},
): IngressAnnotations {
  const reader = new AnnotationReader(annotations);
  // Most Ingresses carry none of ours: nothing to read, nothing to report.
  if (reader.empty) return NOTHING;
  const policy: RoutePolicy = {};
  for (const family of FAMILIES) Object.assign(policy, family.read(reader));
  const refused: string[] = [];
  const unknown: string[] = [];
  for (const annotation of Object.keys(annotations).sort()) {
    const name = settingName(annotation);
    if (name === undefined || KNOWN.has(name)) continue;
    (SNIPPETS.has(name) ? refused : unknown).push(annotation);
  }
  return { policy, bad: reader.bad, refused, unknown };
}

/** The setting an annotation names under one of our prefixes; undefined for any other annotation. */
function settingName(annotation: string): string | undefined {
  for (const prefix of [NGINX_PREFIX, PORTICO_PREFIX])
    if (annotation.startsWith(prefix)) return annotation.slice(prefix.length);
  return undefined;
}
