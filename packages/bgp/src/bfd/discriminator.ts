/**
 * Local discriminators (RFC 5880 section 6.3): non-zero and unique among this system's sessions,
 * chosen at random so a restarted process does not reuse the previous run's values.
 */
const MAX_DISCRIMINATOR = 0xffffffff;
const inUse = new Set<number>();

export function allocateDiscriminator(random: () => number = Math.random): number {
  let candidate = Math.floor(random() * MAX_DISCRIMINATOR) + 1; // 1 .. 2^32-1
  while (inUse.has(candidate)) candidate = (candidate % MAX_DISCRIMINATOR) + 1;
  inUse.add(candidate);
  return candidate;
}

export function releaseDiscriminator(discriminator: number): void {
  inUse.delete(discriminator);
}
