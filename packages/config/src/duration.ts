/**
 * Go's time.ParseDuration, which is what MetalLB v0.12 uses for `hold-time` and `keepalive-time`:
 * a sequence of decimal numbers with optional fraction and a unit each (`1h30m`, `1.5s`, `500ms`),
 * an optional sign, or the bare `0`. A number without a unit (`90`) is an error.
 */

const nanosPerUnit: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const maxNanos = (1n << 63n) - 1n;

/** Parses a Go duration into nanoseconds; a string is the Go-style error message. */
export function parseGoDuration(text: string): bigint | string {
  const invalid = `time: invalid duration "${text}"`;
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return invalid;
  let total = 0n;
  while (rest !== '') {
    const number = /^([0-9]*)(?:\.([0-9]*))?/.exec(rest);
    const whole = number?.[1] ?? '';
    const fraction = number?.[2] ?? '';
    if (whole === '' && fraction === '') return invalid;
    rest = rest.slice(number?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]*/.exec(rest);
    const unitText = unitMatch?.[0] ?? '';
    if (unitText === '') return `time: missing unit in duration "${text}"`;
    const unit = nanosPerUnit[unitText];
    if (unit === undefined) return `time: unknown unit "${unitText}" in duration "${text}"`;
    rest = rest.slice(unitText.length);
    let value = BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') value += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    total += value;
    if (total > maxNanos + (negative ? 1n : 0n)) return invalid;
  }
  return negative ? -total : total;
}

/** Whole seconds of a duration, truncated toward zero like Go's int(d.Seconds()). */
export function truncateToSeconds(nanos: bigint): number {
  return Number(nanos / 1_000_000_000n);
}
