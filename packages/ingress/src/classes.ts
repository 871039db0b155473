/**
 * Which Ingresses are ours (reference §1.5): spec.ingressClassName naming an IngressClass whose
 * controller is ours; else the legacy `kubernetes.io/ingress.class` annotation; else, for class-less
 * Ingresses, only when one of our IngressClasses is marked the cluster default.
 */
import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';

export const CONTROLLER_NAME = 'portico.dev/ingress';
export const DEFAULT_CLASS_NAME = 'portico';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface ClassOptions {
  /** The IngressClass spec.controller we implement. */
  readonly controller: string;
  /** The class name accepted in the legacy annotation (besides names of our IngressClasses). */
  readonly className: string;
}

export type ClassFilter = (ingress: V1Ingress) => boolean;

export function classFilter(classes: readonly V1IngressClass[], options: ClassOptions): ClassFilter {
  const ours = new Set<string>();
  let weAreDefault = false;
  for (const c of classes) {
    if (c.spec?.controller !== options.controller || !c.metadata?.name) continue;
    ours.add(c.metadata.name);
    if (c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') weAreDefault = true;
  }
  return (ingress) => {
    if (ingress.metadata?.deletionTimestamp) return false;
    const field = ingress.spec?.ingressClassName;
    // Old objects may carry both; the field is authoritative (validation rejects both on create).
    if (field) return ours.has(field);
    const legacy = ingress.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
    if (legacy !== undefined) return legacy === options.className || ours.has(legacy);
    return weAreDefault;
  };
}
