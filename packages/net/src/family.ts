/** The two IP families, spelled as Kubernetes spells them (Service `spec.ipFamilies`). */
export type IPFamily = 'IPv4' | 'IPv6';

/** Address width in bits. */
export const familyBits: Readonly<Record<IPFamily, number>> = { IPv4: 32, IPv6: 128 };

/** The all-ones address of a family, as an unsigned integer. */
export function maxAddress(family: IPFamily): bigint {
  return family === 'IPv4' ? 0xffffffffn : 0xffffffffffffffffffffffffffffffffn;
}
