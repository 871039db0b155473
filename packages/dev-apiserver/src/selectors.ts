/**
 * Label and field selectors, with the grammar and matching rules of k8s.io/apimachinery:
 * labels: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`, joined by commas
 * (AND). `!=` and `notin` also match objects without the key. Fields: `path=v`, `path==v`,
 * `path!=v` joined by commas, values escaped with backslash.
 */
import { badRequest } from './errors.js';

type LabelOperator = 'exists' | 'notexists' | 'in' | 'notin' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = readonly LabelRequirement[];

const OPERATOR_CHARS = new Set(['!', '=', '<', '>', '(', ')', ',']);

/** Splits a label selector into words and operator tokens; whitespace separates words only. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '!' && text[i + 1] === '=') {
      tokens.push('!=');
      i += 2;
    } else if (c === '=' && text[i + 1] === '=') {
      tokens.push('==');
      i += 2;
    } else if (OPERATOR_CHARS.has(c)) {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < text.length && !OPERATOR_CHARS.has(text[j]!) && text[j] !== ' ' && text[j] !== '\t') j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string | undefined, selector: string): string {
  if (key === undefined || !KEY.test(key) || key.length > 317) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key ?? ''}" in selector "${selector}"`,
    );
  }
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  }
  return value;
}

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text || text.trim() === '') return [];
  const tokens = tokenize(text);
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in selector "${text}"`);
  };
  while (i < tokens.length) {
    if (tokens[i] === '!') {
      requirements.push({ key: checkKey(tokens[i + 1], text), operator: 'notexists', values: [] });
      i += 2;
    } else {
      const key = checkKey(tokens[i], text);
      const op = tokens[i + 1];
      if (op === undefined || op === ',') {
        requirements.push({ key, operator: 'exists', values: [] });
        i += 1;
      } else if (op === '=' || op === '==' || op === '!=') {
        const value = tokens[i + 2];
        // `k=` (empty value) is legal and matches an empty label value.
        const isValue = value !== undefined && value !== ',';
        requirements.push({
          key,
          operator: op === '!=' ? 'notin' : 'in',
          values: [isValue ? checkValue(value, text) : ''],
        });
        i += isValue ? 3 : 2;
      } else if (op === 'in' || op === 'notin') {
        if (tokens[i + 2] !== '(') fail(`expected "(" after "${op}"`);
        const values: string[] = [];
        let j = i + 3;
        for (;;) {
          const t = tokens[j];
          if (t === undefined) fail('missing ")"');
          if (t === ')') break;
          if (t === ',') {
            j++;
            continue;
          }
          values.push(checkValue(t!, text));
          j++;
        }
        if (op === 'in' && values.length === 0) fail('for "in" operator, values set cannot be empty');
        requirements.push({ key, operator: op, values });
        i = j + 1;
      } else if (op === '>' || op === '<') {
        const value = tokens[i + 2];
        if (value === undefined || !/^-?\d+$/.test(value))
          fail(`for "${op}" operator, the value must be an integer`);
        requirements.push({ key, operator: op === '>' ? 'gt' : 'lt', values: [value!] });
        i += 3;
      } else {
        fail(`found '${op}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    if (i < tokens.length) {
      if (tokens[i] !== ',') fail(`found '${tokens[i]}', expected: ','`);
      i++;
      if (i >= tokens.length) fail('trailing ","');
    }
  }
  return requirements;
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key]! : undefined;
    switch (r.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(value!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(value!)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value!)) return false;
        const n = Number(value);
        const bound = Number(r.values[0]);
        if (r.operator === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

/** Splits on an unescaped separator; backslash escapes `\`, `,` and `=` as in fields.EscapeValue. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Parses a field selector and checks every field against the ones the resource supports. */
export function parseFieldSelector(
  text: string | null | undefined,
  supported: readonly string[],
): FieldSelector {
  if (!text || text.trim() === '') return [];
  const requirements: FieldRequirement[] = [];
  for (const part of splitUnescaped(text, ',')) {
    const match = /^([^=!]+)(==|=|!=)(.*)$/s.exec(part);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = match[1]!.trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !supported.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    requirements.push({ field, equal: match[2] !== '!=', value: unescape(match[3]!) });
  }
  return requirements;
}

/** The string value of a dotted field path, as the real server's field-label conversion renders it. */
export function fieldValue(object: Record<string, unknown>, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  if (typeof current === 'object') return '';
  return String(current);
}

/** Field labels whose value lives under a different path (core Events: `source` is `source.component`). */
const FIELD_PATHS: Record<string, string> = { source: 'source.component' };

export function matchesFields(selector: FieldSelector, object: Record<string, unknown>): boolean {
  for (const r of selector) {
    const actual = fieldValue(object, FIELD_PATHS[r.field] ?? r.field);
    if ((actual === r.value) !== r.equal) return false;
  }
  return true;
}
