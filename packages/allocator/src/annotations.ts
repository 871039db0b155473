/**
 * Service annotation names. Portico reads its own `portico.dev/` names first and accepts MetalLB's
 * as aliases, so Services written for MetalLB migrate unchanged: the current `metallb.io/` names
 * (MetalLB 0.14.9 and later), then the deprecated `metallb.universe.tf/` ones, in MetalLB's own
 * order of preference. See docs/annotations.md.
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

/** MetalLB's current names for the same annotations, accepted as aliases. */
export const METALLB_IO_ANNOTATIONS = {
  addressPool: 'metallb.io/address-pool',
  loadBalancerIPs: 'metallb.io/loadBalancerIPs',
  allowSharedIP: 'metallb.io/allow-shared-ip',
} as const satisfies Record<keyof typeof ANNOTATIONS, string>;

/** MetalLB's deprecated names (before 0.14.9), still accepted as aliases. */
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
 * Reads an annotation, preferring the `portico.dev/` name, then `metallb.io/`, then
 * `metallb.universe.tf/`. A present but empty value counts as present (no alias replaces it).
 */
export function readAnnotationWithKey(
  annotations: Readonly<Record<string, string>> | undefined,
  name: AnnotationName,
): AnnotationValue | undefined {
  if (!annotations) return undefined;
  for (const key of [ANNOTATIONS[name], METALLB_IO_ANNOTATIONS[name], METALLB_ANNOTATIONS[name]]) {
    if (Object.hasOwn(annotations, key)) {
      const value = annotations[key];
      if (typeof value === 'string') return { value, key };
    }
  }
  return undefined;
}

/** The value of an annotation, `portico.dev/` name first, then MetalLB's current and deprecated aliases. */
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
