export { emptyTable, type RouteTable, type Target } from './table.js';
export { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './classes.js';
export {
  type ClusterState,
  compile,
  compileWithProblems,
  formatProblem,
  type IngressProblem,
  problemKey,
} from './compile.js';
export { checkIngresses, formatIngressCheck, hasProblems } from './check.js';
export {
  type ForwardAuthPolicy,
  isAcmeChallenge,
  originRegex,
  parseAuthUrl,
  parseCacheDurations,
  pathRegex,
  readIngressAnnotations,
  type RedirectChoice,
  redirectsToHttps,
  regexPathProblem,
  rewrittenTarget,
  type RoutePolicy,
} from './annotations/index.js';
export { normalizeHost, originOf, type RoutedEndpoint, Router } from './router.js';
export { applyRequestPolicy, compilePolicy, type RequestView } from './route-policy.js';
export { requestHead, upstreamHeaders } from './headers.js';
export {
  type ArrivedForwarding,
  fieldValue,
  forwardedElement,
  forwardingHeaders,
  parseCidr,
  realClient,
  TrustedProxies,
} from './forwarded.js';
export { Balancer } from './balancer.js';
export { BasicCredentials, hashProblem, md5Crypt, parseHtpasswd, verifyHash } from './htpasswd.js';
export { keepsAuthorization, mustAdmit } from './admission.js';
export { defaultHsts, hstsValue } from './hsts.js';
export { type AccessEntry, combinedLine, logTime } from './access-log.js';
export { BatchedLines, type LineOutput } from './batched-lines.js';
export { isSaneRequestId, newRequestId, requestIdLine } from './request-id.js';
export { ResponsePace } from './response-rate.js';
export { ConcurrentRequests, RateLimits, RequestRate } from './rate-limiter.js';
export { type AuthRequest, ForwardAuth } from './forward-auth.js';
export { ProxyMetrics } from './metrics.js';
export { defaultProxyOptions } from './core.js';
export { selfSignedPair } from './certs.js';
export { CertificateExpiry } from './certificate-expiry.js';
export { IngressServer, type ServerOptions } from './server.js';
export {
  encodeV1,
  encodeV2,
  parseProxyHeader,
  type ProxyAddress,
  type ProxyParse,
  V1_MAX_LENGTH,
  V2_SIGNATURE,
} from './proxy-protocol.js';
export { parseProxyProtocolPorts } from './proxy-protocol-ports.js';
export { ClusterRegistry, InProcessSink, type TableSink, WorkerPool } from './workers.js';
export { type EventSink, IngressController, ProblemReporter } from './controller.js';
export { forWorkers, TableState } from './delta.js';
export * as gatewayApi from './gateway/public.js';
