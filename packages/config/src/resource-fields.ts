/**
 * Reading the fields of one custom resource (plain JSON, as the API server or a YAML file gives
 * it) strictly: each value must have its schema's type and range, unknown fields are errors, and
 * every problem is collected as `Kind "name": spec.field: message`, so one pass reports them all.
 * A reader answers undefined for a value it refused; the caller compares error counts to know
 * whether the whole resource is usable.
 */
import { parseGoDuration } from './duration.js';
import type { LabelSelector, LabelSelectorRequirement } from './model.js';
import { labelKeyErrors, labelValueErrors, requirementErrors } from './selector.js';

export type Json = Record<string, unknown>;

/** A value as an error message shows it. */
export function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return JSON.stringify(value);
}

export function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FieldReader {
  constructor(
    readonly errors: string[],
    /** `IPAddressPool "blue"` */
    readonly where: string,
  ) {}

  fail(path: string, message: string): undefined {
    this.errors.push(`${this.where}: ${path}: ${message}`);
    return undefined;
  }

  get count(): number {
    return this.errors.length;
  }

  /** A map with only the given keys (others are reported and left out); null is the empty map. */
  map(value: unknown, path: string, known: readonly string[]): Json | undefined {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) return this.fail(path, `expected a map, got ${show(value)}`);
    const result: Json = {};
    for (const [key, v] of Object.entries(value)) {
      if (known.includes(key)) Object.defineProperty(result, key, { value: v, enumerable: true });
      else this.fail(path, `unknown field "${key}"`);
    }
    return result;
  }

  string(value: unknown, path: string, maxLength?: number): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') return this.fail(path, `expected a string, got ${show(value)}`);
    if (maxLength !== undefined && value.length > maxLength) {
      return this.fail(path, `"${value}" is longer than ${maxLength} characters`);
    }
    return value;
  }

  bool(value: unknown, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') return this.fail(path, `expected true or false, got ${show(value)}`);
    return value;
  }

  int(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return this.fail(path, `expected an integer, got ${show(value)}`);
    }
    if (value < min || value > max) return this.fail(path, `${value} is not in ${min}-${max}`);
    return value;
  }

  /** A list; each item read by `item`, refused items left out. */
  list<T>(value: unknown, path: string, item: (v: unknown, p: string) => T | undefined): T[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `expected a list, got ${show(value)}`);
      return [];
    }
    const result: T[] = [];
    value.forEach((v, i) => {
      const read = item(v, `${path}[${i}]`);
      if (read !== undefined) result.push(read);
    });
    return result;
  }

  strings(value: unknown, path: string, maxLength?: number): string[] {
    return this.list(value, path, (v, p) => this.string(v, p, maxLength));
  }

  /** Each entry at most once (MetalLB: `duplicate definition of <what> "<value>"`). */
  unique(values: readonly string[], path: string, what: string): void {
    values.forEach((v, i) => {
      if (values.indexOf(v) < i) this.fail(`${path}[${i}]`, `duplicate definition of ${what} "${v}"`);
    });
  }

  /** A Go duration (`90s`, `1m30s`) in nanoseconds. */
  duration(value: unknown, path: string): bigint | undefined {
    const text = this.string(value, path, 64);
    if (text === undefined) return undefined;
    const nanos = parseGoDuration(text);
    if (typeof nanos === 'string') return this.fail(path, `invalid duration "${text}": ${nanos}`);
    return nanos;
  }

  /** A metav1.LabelSelector, validated as LabelSelectorAsSelector does. */
  selector(value: unknown, path: string): LabelSelector | undefined {
    const before = this.count;
    const raw = this.map(value, path, ['matchLabels', 'matchExpressions']);
    if (!raw) return undefined;
    const matchLabels: Record<string, string> = {};
    const labels = this.map(raw.matchLabels, `${path}.matchLabels`, Object.keys(raw.matchLabels ?? {}));
    for (const [key, v] of Object.entries(labels ?? {})) {
      const text = this.string(v, `${path}.matchLabels.${key}`);
      if (text === undefined) continue;
      for (const e of [...labelKeyErrors(key), ...labelValueErrors(text)]) {
        this.fail(`${path}.matchLabels`, e);
      }
      Object.defineProperty(matchLabels, key, { value: text, enumerable: true, writable: true });
    }
    const matchExpressions = this.list(raw.matchExpressions, `${path}.matchExpressions`, (v, p) => {
      const expr = this.map(v, p, ['key', 'operator', 'values']);
      if (!expr) return undefined;
      const key = this.string(expr.key, `${p}.key`) ?? '';
      const operator = this.string(expr.operator, `${p}.operator`) ?? '';
      const values = this.strings(expr.values, `${p}.values`);
      for (const e of requirementErrors(key, operator, values)) this.fail(p, e);
      this.unique(values, `${p}.values`, 'match expression value in label selector');
      return { key, operator: operator as LabelSelectorRequirement['operator'], values };
    });
    const exprTexts = matchExpressions.map(requirementText);
    exprTexts.forEach((text, i) => {
      if (exprTexts.indexOf(text) < i) {
        this.fail(`${path}.matchExpressions[${i}]`, `duplicate definition of match expressions "${text}"`);
      }
    });
    if (this.count !== before) return undefined;
    return { matchLabels, matchExpressions };
  }

  /** A list of selectors, none twice (MetalLB's validateLabelSelectorDuplicate). */
  selectors(value: unknown, path: string): LabelSelector[] {
    const selectors = this.list(value, path, (v, p) => this.selector(v, p));
    const texts = selectors.map(selectorText);
    texts.forEach((text, i) => {
      if (texts.indexOf(text) < i) {
        const field = path.slice(path.lastIndexOf('.') + 1);
        this.fail(`${path}[${i}]`, `duplicate definition of ${field} "${text}"`);
      }
    });
    return selectors;
  }
}

function requirementText(r: LabelSelectorRequirement): string {
  return `${r.key} ${r.operator} (${[...r.values].sort().join(',')})`;
}

/** A selector as comparable text: labels and expressions sorted, values sorted. */
export function selectorText(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const expressions = selector.matchExpressions.map(requirementText).sort();
  return [...labels, ...expressions].join(',') || '{}';
}
