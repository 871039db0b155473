/**
 * Canary Ingresses, as ingress-nginx defines them: an Ingress with `canary: "true"` whose host and
 * path equal those of a main (non-canary) Ingress takes some of that path's requests, chosen per
 * request in this order of precedence (ingress-nginx's balancer.lua):
 *
 * 1. `canary-by-header`: the named request header. With `canary-by-header-value`, that exact value
 *    sends the request to the canary; else with `canary-by-header-pattern`, a regular expression
 *    that matches anywhere in the value does; without either, `always` does and `never` keeps the
 *    request on the main backend. Any other value (or none) falls through.
 * 2. `canary-by-cookie`: the named cookie, `always` or `never`; any other value falls through.
 * 3. `canary-weight` out of `canary-weight-total` (default 100) requests, at random.
 *
 * Only one canary per path (ingress-nginx's known limitation); a canary without a main Ingress for
 * its host and path serves nothing (ingress-nginx deletes such an alternative backend), and the
 * compiler reports it. The rule is plain data in the table; the header pattern is compiled once
 * per rule object, in the worker that uses it.
 */
import { cookieValue } from '../cookies.js';
import type { AnnotationFamily } from './family.js';

export interface CanaryRule {
  readonly weight: number;
  readonly weightTotal: number;
  /** Lower-case header name. */
  readonly header?: string;
  readonly headerValue?: string;
  /** Regular expression text (JavaScript syntax, close to PCRE for what people write here). */
  readonly headerPattern?: string;
  readonly cookie?: string;
}

/** On the targets of a canary Ingress: what makes a request go to it. */
export interface CanaryChoice {
  readonly canaryRule?: CanaryRule;
}

/** ingress-nginx's BasicCharsRegex for header and cookie names and the header value. */
const BASIC = /^[\w\-.~/\s:]+$/;

function parseWeight(value: string): number | undefined {
  if (!/^\d{1,9}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function parsePattern(value: string): string | undefined {
  try {
    new RegExp(value);
    return value;
  } catch {
    return undefined;
  }
}

const basic = (value: string): string | undefined => (BASIC.test(value) ? value.trim() : undefined);

export const canaryAnnotations: AnnotationFamily<CanaryChoice> = {
  names: [
    'canary',
    'canary-weight',
    'canary-weight-total',
    'canary-by-header',
    'canary-by-header-value',
    'canary-by-header-pattern',
    'canary-by-cookie',
  ],
  read(reader) {
    const enabled = reader.boolean('canary') === true;
    const weight = reader.read('canary-weight', parseWeight, 'a whole number from 0 to canary-weight-total');
    const total = reader.read(
      'canary-weight-total',
      (v) => {
        const n = parseWeight(v);
        // ingress-nginx's balancer uses 100 whenever the total is not above it.
        return n !== undefined && n >= 100 ? n : undefined;
      },
      'a whole number of at least 100 (ingress-nginx ignores smaller totals)',
    );
    const chars = 'letters, digits and - . _ ~ / : only';
    const header = reader.read('canary-by-header', basic, `a header name (${chars})`);
    const headerValue = reader.read('canary-by-header-value', basic, `a header value (${chars})`);
    const headerPattern = reader.read('canary-by-header-pattern', parsePattern, 'a valid regular expression');
    const cookie = reader.read('canary-by-cookie', basic, `a cookie name (${chars})`);
    if (!enabled) {
      // ingress-nginx refuses canary settings on an Ingress that is not a canary.
      const raw =
        reader.raw('canary-weight') ?? reader.raw('canary-by-header') ?? reader.raw('canary-by-cookie');
      if (raw) reader.refuse(raw.annotation, raw.value, 'set only with canary: "true"');
      return {};
    }
    const weightTotal = total ?? 100;
    const rule: {
      weight: number;
      weightTotal: number;
      header?: string;
      headerValue?: string;
      headerPattern?: string;
      cookie?: string;
    } = { weight: Math.min(weight ?? 0, weightTotal), weightTotal };
    if (header) rule.header = header.toLowerCase();
    if (header && headerValue) rule.headerValue = headerValue;
    else if (header && headerPattern) rule.headerPattern = headerPattern;
    if (cookie) rule.cookie = cookie;
    return { canaryRule: rule };
  },
};

/** Compiled header patterns, per rule object of the current table. */
const patterns = new WeakMap<CanaryRule, RegExp>();

/** The request's headers as the canary reads them (route-policy.ts RequestView); none when absent. */
export interface CanaryRequest {
  /** A request header's value (repeats joined), by lower-case name. */
  header(lowerName: string): string | undefined;
}

/** Whether a request goes to the canary. `random`: a number in [0, 1). */
export function goesToCanary(
  rule: CanaryRule,
  request: CanaryRequest | undefined,
  random: () => number,
): boolean {
  if (rule.header !== undefined) {
    const value = request?.header(rule.header);
    if (value !== undefined) {
      if (rule.headerValue !== undefined) {
        if (value === rule.headerValue) return true;
      } else if (rule.headerPattern !== undefined) {
        let re = patterns.get(rule);
        if (!re) patterns.set(rule, (re = new RegExp(rule.headerPattern)));
        if (re.test(value)) return true;
      } else if (value === 'always') return true;
      else if (value === 'never') return false;
    }
  }
  if (rule.cookie !== undefined) {
    const value = cookieValue(request?.header('cookie'), rule.cookie);
    if (value === 'always') return true;
    if (value === 'never') return false;
  }
  // ingress-nginx: math.random(total) <= weight, i.e. weight chances out of total.
  return rule.weight > 0 && Math.floor(random() * rule.weightTotal) < rule.weight;
}
