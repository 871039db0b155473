/** Kubernetes label selectors (metav1.LabelSelector): every matchLabel and every expression must hold. */
import type { LabelSelector } from './types.js';

export function selectorMatches(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (!Object.hasOwn(l, key) || l[key] !== value) return false;
  return (selector.matchExpressions ?? []).every((req) => {
    const has = Object.hasOwn(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        return has && values.includes(l[req.key]!);
      case 'NotIn':
        return !has || !values.includes(l[req.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        // An unknown operator selects nothing, as the API server would have refused it.
        return false;
    }
  });
}
