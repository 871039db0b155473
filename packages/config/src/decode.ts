/**
 * Strict decoding of the YAML document into plain, typed values: the TypeScript counterpart of
 * gopkg.in/yaml.v2's UnmarshalStrict into MetalLB's configFile structs. Unknown keys, duplicate
 * keys and wrong scalar types are errors. Like yaml.v2, any scalar decodes into a string field
 * using its source text (`name: 123` is the name "123", `hold-time: 90` is "90"), and null means
 * "not set". Every error is collected, each naming its path; an entry of a list (a pool, a peer)
 * that has a decoding error carries `invalid: true` so later checks can skip it.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

export type Shape =
  | { readonly kind: 'string' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'list'; readonly of: Shape; readonly named?: boolean }
  | { readonly kind: 'stringMap' }
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, Shape>> };

/** Marks a struct value that had a decoding error somewhere inside. */
export const invalid = Symbol('invalid');

export interface DecodeContext {
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly errors: string[];
}

interface Decoded {
  readonly value: unknown;
  readonly ok: boolean;
}

function describe(node: unknown): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'null';
    if (typeof node.value === 'string') return `string "${node.value}"`;
    return scalarText(node);
  }
  return 'nothing';
}

function fail(ctx: DecodeContext, node: unknown, path: string, message: string): Decoded {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  const where = range ? ` (line ${ctx.lines.linePos(range[0]).line})` : '';
  ctx.errors.push(`${path || 'top level'}: ${message}${where}`);
  return { value: undefined, ok: false };
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** The `name` of a list entry that is a map, for error paths like `address-pools[0] "blue"`. */
function entryName(ctx: DecodeContext, node: unknown): string | undefined {
  const resolved = resolve(ctx, node);
  if (!isMap(resolved)) return undefined;
  const name = resolve(ctx, resolved.get('name', true));
  return isScalar(name) && name.value !== null ? scalarText(name) : undefined;
}

function resolve(ctx: DecodeContext, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function scalarText(node: {
  value: unknown;
  type?: string | undefined;
  source?: string | undefined;
}): string {
  return node.type === 'PLAIN' && node.source !== undefined ? node.source : String(node.value);
}

export function decode(ctx: DecodeContext, rawNode: unknown, shape: Shape, path: string): Decoded {
  const node = resolve(ctx, rawNode);
  if (isNull(node)) return { value: undefined, ok: true };
  switch (shape.kind) {
    case 'string':
      if (!isScalar(node)) return fail(ctx, node, path, `expected a string, got ${describe(node)}`);
      return { value: scalarText(node), ok: true };
    case 'bool':
      // yaml.v2 also reads y/Y/n/N as booleans, which YAML 1.1 schemas usually leave out.
      if (isScalar(node) && node.type === 'PLAIN' && /^[yYnN]$/.test(String(node.value))) {
        return { value: /^[yY]$/.test(String(node.value)), ok: true };
      }
      if (!isScalar(node) || typeof node.value !== 'boolean') {
        return fail(ctx, node, path, `expected true or false, got ${describe(node)}`);
      }
      return { value: node.value, ok: true };
    case 'int': {
      const value = isScalar(node) ? node.value : undefined;
      const number = typeof value === 'bigint' ? Number(value) : value;
      if (
        typeof number !== 'number' ||
        !Number.isInteger(number) ||
        number < shape.min ||
        number > shape.max
      ) {
        return fail(
          ctx,
          node,
          path,
          `expected an integer in ${shape.min}-${shape.max}, got ${describe(node)}`,
        );
      }
      return { value: number, ok: true };
    }
    case 'list': {
      if (!isSeq(node)) return fail(ctx, node, path, `expected a list, got ${describe(node)}`);
      let ok = true;
      const items = node.items.map((item, i) => {
        const name = shape.named ? entryName(ctx, item) : undefined;
        const decoded = decode(ctx, item, shape.of, `${path}[${i}]${name === undefined ? '' : ` "${name}"`}`);
        ok &&= decoded.ok;
        // An entry that is not even a map still holds its place, marked, so it is skipped later.
        if (!decoded.ok) return decoded.value ?? { [invalid]: true };
        // A null entry is Go's zero value (`addresses: [~]` is the empty string).
        return decoded.value ?? zeroValue(shape.of);
      });
      return { value: items, ok };
    }
    case 'stringMap': {
      if (!isMap(node)) return fail(ctx, node, path, `expected a map, got ${describe(node)}`);
      let ok = true;
      const result: Record<string, string | typeof invalid> = {};
      for (const pair of node.items) {
        const key = resolve(ctx, pair.key);
        if (!isScalar(key)) {
          ok = false;
          fail(ctx, key, path, `expected a string key, got ${describe(key)}`);
          continue;
        }
        const keyText = scalarText(key);
        const value = decode(ctx, pair.value, { kind: 'string' }, `${path}: "${keyText}"`);
        ok &&= value.ok;
        setOwn(result, keyText, value.ok ? ((value.value as string | undefined) ?? '') : invalid);
      }
      return { value: result, ok };
    }
    case 'struct': {
      if (!isMap(node)) return fail(ctx, node, path, `expected a map, got ${describe(node)}`);
      let ok = true;
      const result: Record<string | symbol, unknown> = {};
      for (const pair of node.items) {
        const key = resolve(ctx, pair.key);
        const keyText = isScalar(key) ? scalarText(key) : undefined;
        const field = keyText === undefined ? undefined : shape.fields[keyText];
        if (keyText === undefined || field === undefined || !Object.hasOwn(shape.fields, keyText)) {
          ok = false;
          fail(ctx, key, path, `unknown field ${keyText === undefined ? describe(key) : `"${keyText}"`}`);
          continue;
        }
        const value = decode(ctx, pair.value, field, path ? `${path}: ${keyText}` : keyText);
        ok &&= value.ok;
        if (value.value !== undefined) result[keyText] = value.value;
      }
      if (!ok) result[invalid] = true;
      // An entry with an error stays in its list (so indexes keep their meaning) but is marked.
      return { value: result, ok };
    }
  }
}

function zeroValue(shape: Shape): unknown {
  switch (shape.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
      return 0;
    case 'list':
      return [];
    case 'stringMap':
    case 'struct':
      return {};
  }
}

/**
 * Sets a property from user input as an own, enumerable property, even for a key like
 * `__proto__` (a plain assignment would replace the object's prototype instead).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** True when a decoded struct had an error inside. */
export function isInvalid(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[invalid] === true;
}
