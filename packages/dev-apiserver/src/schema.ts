/**
 * The structure of the served types (schema-data.ts, generated from the real server's OpenAPI
 * documents and the Go types), and how to walk it: what a field's type is, whether a list is
 * atomic, a set or a map keyed by some fields, whether a map or struct is atomic. The structured
 * merge (field sets, managedFields, server-side apply), the pruning of unknown fields and the
 * Go-like JSON encoding all read it.
 */
import type { ResourceInfo } from './resources.js';
import { SCHEMA } from './schema-data.js';

/** Scalars, and the few named types that are scalars on the wire. */
export type Scalar =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'bytes'
  | 'int-or-string'
  | 'quantity'
  | 'time'
  | 'micro-time'
  /** Any JSON (RawExtension, FieldsV1): maps granular, lists atomic. */
  | 'any';

export interface ListType {
  list: TypeRef;
  listType: 'atomic' | 'set' | 'map';
  keys?: string[];
  /** Values of key fields an element leaves out. */
  keyDefaults?: Record<string, unknown>;
}

export interface MapType {
  map: TypeRef;
  atomic?: boolean;
}

export type TypeRef = Scalar | { ref: string } | ListType | MapType;

export interface FieldDef {
  type: TypeRef;
  /** A pointer in Go: present (even when zero) or absent. */
  pointer?: boolean;
  omitempty?: boolean;
  omitzero?: boolean;
  /** Strategic merge patch: `merge`, `retainKeys`, `merge,retainKeys`. */
  patchStrategy?: string;
  mergeKey?: string;
}

export interface StructDef {
  fields: Record<string, FieldDef>;
  atomic?: boolean;
  /**
   * A custom resource's object (crd-schema.ts): written back as given, keys sorted, zero values
   * and empty lists kept (the real server stores custom resources as JSON, not as Go structs).
   */
  unstructured?: boolean;
  /** x-kubernetes-preserve-unknown-fields: fields the schema does not name are kept, not pruned. */
  preserveUnknown?: boolean;
}

export interface SchemaData {
  /** `group/version/Kind` (`v1/Kind` for the core group) to its definition. */
  kinds: Record<string, string>;
  definitions: Record<string, StructDef>;
}

/** A type with named types looked up. */
export type Atom =
  | { kind: 'scalar'; scalar: Scalar }
  | { kind: 'struct'; def: StructDef }
  | { kind: 'map'; elem: TypeRef; atomic: boolean }
  | { kind: 'list'; list: ListType };

export const ANY: TypeRef = 'any';

export function resolve(type: TypeRef): Atom {
  if (typeof type === 'string') return { kind: 'scalar', scalar: type };
  if ('ref' in type) {
    const def = SCHEMA.definitions[type.ref];
    if (!def) throw new Error(`schema: no definition ${type.ref}`);
    return { kind: 'struct', def };
  }
  if ('list' in type) return { kind: 'list', list: type };
  return { kind: 'map', elem: type.map, atomic: type.atomic === true };
}

/**
 * What a value of an `any` type is taken to be, from the value itself (structured-merge-diff's
 * deduced type): objects are granular maps of `any`, lists atomic, the rest scalars.
 */
export function deduce(value: unknown): Atom {
  if (Array.isArray(value)) return { kind: 'list', list: { list: ANY, listType: 'atomic' } };
  if (value !== null && typeof value === 'object') return { kind: 'map', elem: ANY, atomic: false };
  return { kind: 'scalar', scalar: 'any' };
}

/** The atom of TYPE for VALUE: `any` is deduced from the value. */
export function atomOf(type: TypeRef, value: unknown): Atom {
  return type === 'any' ? deduce(value) : resolve(type);
}

/** The type of a member of a struct or map (undefined: a struct has no such field). */
export function memberType(atom: Atom, key: string): TypeRef | undefined {
  if (atom.kind === 'struct') return atom.def.fields[key]?.type;
  if (atom.kind === 'map') return atom.elem;
  return undefined;
}

const customTypes = new WeakMap<ResourceInfo, TypeRef>();
let customTypeOf: ((resource: ResourceInfo) => TypeRef) | undefined;

/** Registers how custom resources get their type (crd-schema.ts; set by crd.ts). */
export function setCustomTypes(typeOf: (resource: ResourceInfo) => TypeRef): void {
  customTypeOf = typeOf;
}

function customRootType(resource: ResourceInfo): TypeRef {
  let type = customTypes.get(resource);
  if (!type) {
    if (!customTypeOf) throw new Error('schema: custom resource types are not set up');
    type = customTypeOf(resource);
    customTypes.set(resource, type);
  }
  return type;
}

/** The root type of a resource's objects. */
export function rootType(resource: ResourceInfo): TypeRef {
  if (resource.custom) return customRootType(resource);
  const gv = resource.group ? `${resource.group}/${resource.version}` : resource.version;
  const name = SCHEMA.kinds[`${gv}/${resource.kind}`];
  if (!name) throw new Error(`schema: no type for ${gv} ${resource.kind}`);
  return { ref: name };
}
