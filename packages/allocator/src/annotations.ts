/**
 * Service annotation names. Portico reads its own `portico.dev/` names first and accepts MetalLB's
 * `metallb.universe.tf/` names as aliases, so Services written for MetalLB migrate unchanged.
 * See docs/annotations.md.
 */

/** The annotations the allocator's inputs come from, by their Portico names. */
export const ANNOTATIONS = {
  /** Allocate from this pool only (no fallback to other pools). */
  addressPool: 'portico.dev/address-pool',
  /** Comma-separated list of requested addresses, at most one per IP family. */
  loadBalancerIPs: 'portico.dev/loadBalancerIPs',
  /** Sharing key: Services with the same key may share an address. */
  allowSharedIP: 'portico.dev/allow-shared-ip',
} as const;

/** MetalLB's names for the same annotations, accepted as aliases. */
export const METALLB_ANNOTATIONS = {
  addressPool: 'metallb.universe.tf/address-pool',
  loadBalancerIPs: 'metallb.universe.tf/loadBalancerIPs',
  allowSharedIP: 'metallb.universe.tf/allow-shared-ip',
} as const satisfies Record<keyof typeof ANNOTATIONS, string>;

export type AnnotationName = keyof typeof ANNOTATIONS;

/** An annotation value together with the key it was read from (to warn about the alias if wanted). */
export interface AnnotationValue {
  readonly value: string;
  readonly key: string;
}

/**
 * Reads an annotation, preferring the `portico.dev/` name and falling back to the MetalLB alias.
 * A present but empty value counts as present (it is not replaced by the alias).
 */
export function readAnnotationWithKey(
  annotations: Readonly<Record<string, string>> | undefined,
  name: AnnotationName,
): AnnotationValue | undefined {
  if (!annotations) return undefined;
  for (const key of [ANNOTATIONS[name], METALLB_ANNOTATIONS[name]]) {
    if (Object.hasOwn(annotations, key)) {
      const value = annotations[key];
      if (typeof value === 'string') return { value, key };
    }
  }
  return undefined;
}

/** The value of an annotation, `portico.dev/` name first, then the MetalLB alias. */
export function readAnnotation(
  annotations: Readonly<Record<string, string>> | undefined,
  name: AnnotationName,
): string | undefined {
  return readAnnotationWithKey(annotations, name)?.value;
}

/**
 * Splits a `loadBalancerIPs` annotation value into addresses: comma-separated, whitespace trimmed.
 * Empty items are kept (as empty strings) so the caller reports them as invalid, like MetalLB does.
 */
export function splitIPList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}
