/**
 * What the route compiler could not honour in an Ingress, as data: which Ingress, a machine-readable
 * reason (it becomes the Event reason and a metric label), and a message that starts with the field
 * path and quotes the value, e.g.
 * `spec.rules[0].http.paths[1].backend.service.name: service "default/foo" not found`.
 * A problem never stops the rest of the table from being served.
 */

export const PROBLEM_REASONS = [
  'BackendServiceNotFound',
  'BackendPortNotFound',
  'UnsupportedBackend',
  'SecretNotFound',
  'InvalidCertificate',
  'RuleConflict',
  'InvalidAnnotation',
  'RefusedAnnotation',
  'UnknownAnnotation',
  'UnmatchedCanary',
  'InvalidPath',
] as const;

export type ProblemReason = (typeof PROBLEM_REASONS)[number];

export interface IngressProblem {
  readonly namespace: string;
  readonly name: string;
  /** The Ingress's uid, when known: a re-created Ingress is a new object with its own problems. */
  readonly uid?: string;
  readonly reason: ProblemReason;
  /** Path of the offending field in the Ingress, e.g. `spec.tls[0].secretName`. */
  readonly field: string;
  /** `<field>: <what is wrong, quoting the value>`. */
  readonly message: string;
}

/** One line for logs and RouteTable.problems: `namespace/name: message`. */
export function formatProblem(p: IngressProblem): string {
  return `${p.namespace}/${p.name}: ${p.message}`;
}

/** Identity of a problem: the same problem found by the next compile has the same key. */
export function problemKey(p: IngressProblem): string {
  return `${p.uid ?? ''}|${p.namespace}/${p.name}|${p.reason}|${p.message}`;
}
