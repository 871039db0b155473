/**
 * Gateway API durations (GEP-2257): one to four `<number><unit>` parts, each number of at most five
 * digits, units h, m, s, ms (`500ms`, `1h30m`, `0s`). Parsed into milliseconds; anything else is
 * refused with the value named, so the route that carries it is reported, not served wrong.
 */
const DURATION = /^(?:[0-9]{1,5}(?:h|ms|m|s)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

/** Milliseconds, or an error message naming `field` and the value. */
export function parseDuration(value: string, field: string): number | string {
  if (!DURATION.test(value))
    return `${field}: ${JSON.stringify(value)} is not a duration (e.g. "500ms", "10s", "1h30m")`;
  const seen = new Set<string>();
  let total = 0;
  for (const [, n, unit] of value.matchAll(PART)) {
    if (seen.has(unit!)) return `${field}: ${JSON.stringify(value)} repeats the unit ${JSON.stringify(unit)}`;
    seen.add(unit!);
    total += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total;
}
