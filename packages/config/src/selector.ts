/**
 * Peer `node-selectors`: Kubernetes label selectors (match-labels plus match-expressions with the
 * operators In, NotIn, Exists, DoesNotExist), validated the way metav1.LabelSelectorAsSelector
 * and labels.NewRequirement do, and matched against a node's labels.
 */
import type { LabelSelectorRequirement, NodeSelector } from './model.js';

const operators: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
const nameRegex = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomainRegex = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValueRegex = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Errors of a label key (`[dns-subdomain/]name`), empty when valid. */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  const name = parts[parts.length - 1] ?? '';
  const errors: string[] = [];
  if (parts.length > 2) {
    return [`invalid label key "${key}": a qualified name must have at most one "/"`];
  }
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix.length === 0) errors.push(`invalid label key "${key}": prefix part must be non-empty`);
    else if (prefix.length > 253 || !dnsSubdomainRegex.test(prefix)) {
      errors.push(`invalid label key "${key}": prefix part must be a lowercase RFC 1123 subdomain`);
    }
  }
  if (name.length === 0) errors.push(`invalid label key "${key}": name part must be non-empty`);
  else if (name.length > 63)
    errors.push(`invalid label key "${key}": name part must be no more than 63 characters`);
  else if (!nameRegex.test(name)) {
    errors.push(
      `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
  return errors;
}

/** Errors of a label value (empty is allowed), empty when valid. */
export function labelValueErrors(value: string): string[] {
  if (value.length > 63) return [`invalid label value "${value}": must be no more than 63 characters`];
  if (!labelValueRegex.test(value)) {
    return [
      `invalid label value "${value}": must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    ];
  }
  return [];
}

/** Errors of one match-expressions entry, in the wording of labels.NewRequirement. */
export function requirementErrors(key: string, operator: string, values: readonly string[]): string[] {
  if (!operators.has(operator)) return [`"${operator}" is not a valid pod selector operator`];
  const errors = labelKeyErrors(key);
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    errors.push("for 'in', 'notin' operators, values set can't be empty");
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length !== 0) {
    errors.push('values set must be empty for exists and does not exist');
  }
  for (const value of values) errors.push(...labelValueErrors(value));
  return errors;
}

function requirementMatches(
  req: LabelSelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key] ?? '');
    case 'NotIn':
      return !has || !req.values.includes(labels[req.key] ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** One selector: every match-label and every expression must hold; `{}` matches every node. */
export function nodeSelectorMatches(
  selector: NodeSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((req) => requirementMatches(req, labels));
}

/** A peer's selectors: an empty list selects every node, otherwise any matching selector does. */
export function nodeSelectorsMatch(
  selectors: readonly NodeSelector[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return selectors.length === 0 || selectors.some((selector) => nodeSelectorMatches(selector, labels));
}
