/**
 * Label and field selectors, with the grammar and matching rules of k8s.io/apimachinery:
 * labels: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`, joined by commas
 * (AND). `!=` and `notin` also match objects without the key. Fields: `path=v`, `path==v`,
 * `path!=v` joined by commas, values escaped with backslash.
 */
import { badRequest } from './errors.js';
import { isLabelKey, isLabelValue } from './validation.js';

type LabelOperator = 'exists' | '!' | 'in' | 'notin' | '=' | '==' | '!=' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = readonly LabelRequirement[];

/** The lexer's tokens (labels.Token); identifiers carry their text. */
type Token = 'end' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(' | 'error';
const LITERALS: Record<string, Token> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);
const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

function lex(text: string): { tok: Token; lit: string }[] {
  const items: { tok: Token; lit: string }[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && WHITESPACE.has(text[pos]!)) pos++;
    if (pos >= text.length) {
      items.push({ tok: 'end', lit: '' });
      return items;
    }
    if (SPECIAL.has(text[pos]!)) {
      // The longest run of special characters that is still a token.
      let buffer = '';
      let last: { tok: Token; lit: string } | undefined;
      while (pos < text.length && SPECIAL.has(text[pos]!)) {
        buffer += text[pos];
        const tok = LITERALS[buffer];
        if (tok) {
          last = { tok, lit: buffer };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buffer}'` });
    } else {
      let buffer = '';
      while (pos < text.length && !SPECIAL.has(text[pos]!) && !WHITESPACE.has(text[pos]!))
        buffer += text[pos++];
      items.push({ tok: LITERALS[buffer] ?? 'id', lit: buffer });
    }
  }
}

/** A field error as Go prints it: `path: Invalid value: "v": detail`. */
function invalidValue(path: string, value: unknown, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

function aggregate(errors: string[]): string | undefined {
  const unique = [...new Set(errors)];
  if (unique.length === 0) return undefined;
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

/** labels.NewRequirement's checks: the key, the number of values, integers for gt and lt. */
function requirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errors: string[] = [];
  const keyErrors = isLabelKey(key);
  if (keyErrors.length) errors.push(invalidValue('key', key, keyErrors.join('; ')));
  if ((operator === 'in' || operator === 'notin') && values.length === 0)
    errors.push(invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"));
  if ((operator === '=' || operator === '==' || operator === '!=') && values.length !== 1)
    errors.push(invalidValue('values', values, 'exact-match compatibility requires one single value'));
  if (operator === 'gt' || operator === 'lt') {
    if (values.length !== 1)
      errors.push(invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
    values.forEach((v, i) => {
      if (!/^[-+]?\d+$/.test(v))
        errors.push(
          invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"),
        );
    });
  }
  values.forEach((v, i) => {
    const valueErrors = isLabelValue(v);
    if (valueErrors.length) errors.push(invalidValue(`values[${i}][${key}]`, v, valueErrors.join('; ')));
  });
  const error = aggregate(errors);
  if (error) throw new SelectorError(error);
  return { key, operator, values };
}

class SelectorError extends Error {}

/** labels.Parse: the real server's grammar, error messages and key order. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text) return [];
  const items = lex(text);
  let position = 0;
  const peek = (values: boolean) => {
    const item = items[position]!;
    return values && (item.tok === 'in' || item.tok === 'notin')
      ? { tok: 'id' as Token, lit: item.lit }
      : item;
  };
  const next = (values: boolean) => {
    const item = peek(values);
    position++;
    return item;
  };
  const fail = (message: string): never => {
    throw new SelectorError(message);
  };
  const parseValues = (): string[] => {
    const open = next(true);
    if (open.tok !== '(') fail(`found '${open.lit}' expected: '('`);
    const first = peek(true);
    if (first.tok === ')') {
      next(true);
      return [''];
    }
    if (first.tok !== 'id' && first.tok !== ',')
      fail(`found '${first.lit}', expected: ',', ')' or identifier`);
    const set = new Set<string>();
    for (;;) {
      const item = next(true);
      if (item.tok === 'id') {
        set.add(item.lit);
        const after = peek(true);
        if (after.tok === ',') continue;
        if (after.tok === ')') break;
        fail(`found '${after.lit}', expected: ',' or ')'`);
      } else if (item.tok === ',') {
        if (set.size === 0) set.add('');
        const after = peek(true);
        if (after.tok === ')') {
          set.add('');
          break;
        }
        if (after.tok === ',') set.add('');
      } else {
        fail(`found '${item.lit}', expected: ',', or identifier`);
      }
    }
    if (next(true).tok !== ')') fail(`found '${first.lit}', expected: ')'`);
    return [...set].sort();
  };
  const parseRequirement = (): LabelRequirement => {
    let item = next(true);
    let operator: LabelOperator | undefined;
    if (item.tok === '!') {
      operator = '!';
      item = next(true);
    }
    if (item.tok !== 'id') fail(`found '${item.lit}', expected: identifier`);
    const key = item.lit;
    const keyErrors = isLabelKey(key);
    if (keyErrors.length) fail(invalidValue('<nil>', key, keyErrors.join('; ')));
    const after = peek(true).tok;
    // `!key` is complete here; what follows is the caller's to judge.
    if (operator === '!') return requirement(key, '!', []);
    if (after === 'end' || after === ',') return requirement(key, 'exists', []);
    const op = next(false);
    const operators: Partial<Record<Token, LabelOperator>> = {
      in: 'in',
      notin: 'notin',
      '=': '=',
      '==': '==',
      '!=': '!=',
      '>': 'gt',
      '<': 'lt',
    };
    const parsed = operators[op.tok] ?? fail(`found '${op.lit}', expected: ${BINARY_OPERATORS}`);
    if (parsed === 'in' || parsed === 'notin') return requirement(key, parsed, parseValues());
    const value = peek(true);
    if (value.tok === 'end' || value.tok === ',') return requirement(key, parsed, ['']);
    next(true);
    if (value.tok !== 'id') fail(`found '${value.lit}', expected: identifier`);
    return requirement(key, parsed, [value.lit]);
  };
  const requirements: LabelRequirement[] = [];
  try {
    for (;;) {
      const { tok, lit } = peek(true);
      if (tok === 'end') break;
      if (tok !== 'id' && tok !== '!') fail(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        requirements.push(parseRequirement());
      } catch (error) {
        if (error instanceof SelectorError) fail(`unable to parse requirement: ${error.message}`);
        throw error;
      }
      const sep = next(true);
      if (sep.tok === 'end') break;
      if (sep.tok !== ',') fail(`found '${sep.lit}', expected: ',' or 'end of string'`);
      const after = peek(true);
      if (after.tok !== 'id' && after.tok !== '!')
        fail(`found '${after.lit}', expected: identifier after ','`);
    }
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
  return requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key]! : undefined;
    switch (r.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'in':
      case '=':
      case '==':
        if (!has || !r.values.includes(value!)) return false;
        break;
      case 'notin':
      case '!=':
        if (has && r.values.includes(value!)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^[-+]?\d+$/.test(value!)) return false;
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

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare `,` and `=` are refused. */
function unescapeFieldValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let inSlash = false;
  for (const c of value) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

const DEFAULT_FIELD_LABELS = ['metadata.name', 'metadata.namespace'];

/**
 * fields.ParseSelector, then the kind's field label conversion: SUPPORTED lists the labels of a
 * kind with its own conversion; without it only metadata.name and metadata.namespace work.
 */
export function parseFieldSelector(
  text: string | null | undefined,
  supported?: readonly string[],
): FieldSelector {
  if (!text) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  terms.sort();
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === '') continue;
    const match = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    requirements.push({ field: match[1]!, equal: match[2] !== '!=', value: unescapeFieldValue(match[3]!) });
  }
  for (const r of requirements) {
    if (supported ? supported.includes(r.field) : DEFAULT_FIELD_LABELS.includes(r.field)) continue;
    throw badRequest(
      supported
        ? `field label not supported: ${r.field}`
        : `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
    );
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
/** Booleans the real server's field sets print as `false` when unset. */
const FALSE_WHEN_UNSET = new Set(['spec.unschedulable', 'spec.hostNetwork']);

export function matchesFields(selector: FieldSelector, object: Record<string, unknown>): boolean {
  for (const r of selector) {
    let actual = fieldValue(object, FIELD_PATHS[r.field] ?? r.field);
    if (actual === '' && FALSE_WHEN_UNSET.has(r.field)) actual = 'false';
    if ((actual === r.value) !== r.equal) return false;
  }
  return true;
}
