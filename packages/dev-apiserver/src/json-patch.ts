/**
 * JSON Patch, RFC 6902: add, remove, replace, move, copy and test operations addressed by
 * JSON Pointers (RFC 6901). Operations apply in order to a copy; any failure rejects the whole patch.
 */
import { badRequest } from './errors.js';
import { clone, isObject, jsonEqual } from './json.js';

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6901 section 3/4: split on '/', then unescape ~1 to '/' and ~0 to '~' (in that order). */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, tokens: string[], pointer: string): Container {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, pointer, false)];
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token];
    else
      throw badRequest(
        `the server rejected our request due to an error in our request: path "${pointer}" not found`,
      );
  }
  if (!Array.isArray(current) && !isObject(current)) {
    throw badRequest(
      `the server rejected our request due to an error in our request: path "${pointer}" not found`,
    );
  }
  return current;
}

function arrayIndex(array: unknown[], token: string, pointer: string, forInsert: boolean): number {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw badRequest(`invalid array index "${token}" in "${pointer}"`);
  const index = Number(token);
  if (index > array.length || (!forInsert && index === array.length)) {
    throw badRequest(`array index ${index} out of bounds in "${pointer}"`);
  }
  return index;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = resolveParent(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, pointer, false)];
  if (!Object.hasOwn(parent, last)) throw badRequest(`path "${pointer}" not found`);
  return parent[last];
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw badRequest('cannot remove the whole document');
  const parent = resolveParent(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, pointer, false), 1)[0];
  if (!Object.hasOwn(parent, last))
    throw badRequest(`unable to remove nonexistent key: ${last}; path "${pointer}"`);
  const removed = parent[last];
  delete parent[last];
  return removed;
}

/** Returns the new document (the root may be replaced). */
function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = resolveParent(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, pointer, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, last)) {
      throw badRequest(`replace operation does not apply: doc is missing key: ${pointer}`);
    }
    parent[last] = value;
  }
  return doc;
}

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json patch must be an array of operations');
  let doc = clone(target);
  for (const raw of patch as unknown[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest(`invalid json patch operation: ${JSON.stringify(raw)}`);
    }
    const op = raw as unknown as Operation;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, clone(op.value), false);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'replace':
        doc = addAt(doc, op.path, clone(op.value), true);
        break;
      case 'move': {
        if (op.from === undefined) throw badRequest('move operation needs "from"');
        const value = removeAt(doc, op.from);
        doc = addAt(doc, op.path, value, false);
        break;
      }
      case 'copy': {
        if (op.from === undefined) throw badRequest('copy operation needs "from"');
        doc = addAt(doc, op.path, clone(getAt(doc, op.from)), false);
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, op.path), op.value)) {
          throw badRequest(`testing value ${op.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}
