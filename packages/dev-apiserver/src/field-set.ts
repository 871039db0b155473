/**
 * Sets of field paths, as structured-merge-diff keeps them for managedFields: a tree whose
 * levels hold the path elements that are members at that level and the children below them. A
 * path element is kept in its serialized FieldsV1 form: `f:name` (a field), `k:{"port":80,
 * "protocol":"TCP"}` (an element of a list keyed by those fields), `v:"value"` (an element of a
 * set), `i:3` (a list index). The operations follow fieldpath.Set: union, intersection,
 * difference (a parent minus its child is still the parent), recursive difference (removes a
 * path and everything below it), and the FieldsV1 encoding (`"."` marks a member with children).
 */
import type { JsonObject } from './json.js';
import { resolve, type Atom, type TypeRef } from './schema.js';

export type Path = readonly string[];

export class FieldSet {
  readonly members = new Set<string>();
  readonly children = new Map<string, FieldSet>();

  static of(...paths: Path[]): FieldSet {
    const set = new FieldSet();
    for (const p of paths) set.insert(p);
    return set;
  }

  /** Inserts a path; the empty path (the whole object) is never owned. */
  insert(path: Path): void {
    if (path.length === 0) return;
    if (path.length === 1) {
      this.members.add(path[0]!);
      return;
    }
    let child = this.children.get(path[0]!);
    if (!child) {
      child = new FieldSet();
      this.children.set(path[0]!, child);
    }
    child.insert(path.slice(1));
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    if (path.length === 1) return this.members.has(path[0]!);
    return this.children.get(path[0]!)?.has(path.slice(1)) ?? false;
  }

  empty(): boolean {
    if (this.members.size > 0) return false;
    for (const child of this.children.values()) if (!child.empty()) return false;
    return true;
  }

  /** The set below path element PE (empty when there is none). */
  withPrefix(pe: string): FieldSet {
    return this.children.get(pe) ?? new FieldSet();
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of other.members) out.members.add(m);
    for (const [pe, child] of this.children) {
      const theirs = other.children.get(pe);
      out.children.set(pe, theirs ? child.union(theirs) : child);
    }
    for (const [pe, child] of other.children) if (!this.children.has(pe)) out.children.set(pe, child);
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const theirs = other.children.get(pe);
      if (!theirs) continue;
      const both = child.intersection(theirs);
      if (!both.empty()) out.children.set(pe, both);
    }
    return out;
  }

  /** Members of this set that OTHER lacks; a member's children are not removed with it. */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const theirs = other.children.get(pe);
      if (!theirs) {
        out.children.set(pe, child);
        continue;
      }
      const rest = child.difference(theirs);
      if (!rest.empty()) out.children.set(pe, rest);
    }
    return out;
  }

  /** Like difference, but a member of OTHER takes everything below it along. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      if (other.members.has(pe)) continue;
      const theirs = other.children.get(pe);
      if (!theirs) {
        out.children.set(pe, child);
        continue;
      }
      const rest = child.recursiveDifference(theirs);
      if (!rest.empty()) out.children.set(pe, rest);
    }
    return out;
  }

  /**
   * The set with every struct field that has children owned as well: removing the result's
   * paths then removes those fields when nothing else is left under them.
   */
  ensureNamedFieldsAreMembers(type: TypeRef): FieldSet {
    const atom = safeResolve(type);
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const [pe, child] of this.children) {
      let childType: TypeRef | undefined;
      if (pe.startsWith('f:') && atom?.kind === 'struct') {
        const field = atom.def.fields[pe.slice(2)];
        if (field) {
          out.members.add(pe);
          childType = field.type;
        }
      } else if (pe.startsWith('f:') && atom?.kind === 'map') {
        childType = atom.elem;
      } else if (pe.startsWith('k:') && atom?.kind === 'list') {
        childType = atom.list.list;
      }
      out.children.set(pe, childType ? child.ensureNamedFieldsAreMembers(childType) : child);
    }
    return out;
  }

  /** Every member path, members of a level before its children, each level in order. */
  paths(prefix: Path = []): string[][] {
    const out: string[][] = [];
    for (const m of [...this.members].sort(comparePathElements)) out.push([...prefix, m]);
    for (const pe of [...this.children.keys()].sort(comparePathElements)) {
      out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    }
    return out;
  }

  /** The FieldsV1 encoding (metadata.managedFields[].fieldsV1). */
  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    const elements = new Set([...this.members, ...this.children.keys()]);
    for (const pe of [...elements].sort(comparePathElements)) {
      const child = this.children.get(pe);
      if (!child || child.empty()) {
        out[pe] = {};
        continue;
      }
      const inner = child.toFieldsV1();
      out[pe] = this.members.has(pe) ? { '.': {}, ...inner } : inner;
    }
    return out;
  }

  static fromFieldsV1(json: unknown): FieldSet {
    const set = new FieldSet();
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return set;
    for (const [pe, value] of Object.entries(json as JsonObject)) {
      if (pe === '.') continue;
      const inner = value !== null && typeof value === 'object' ? (value as JsonObject) : {};
      const keys = Object.keys(inner);
      if (keys.length === 0 || keys.includes('.')) set.members.add(pe);
      if (keys.some((k) => k !== '.')) set.children.set(pe, FieldSet.fromFieldsV1(inner));
    }
    return set;
  }
}

function safeResolve(type: TypeRef): Atom | undefined {
  return type === 'any' ? undefined : resolve(type);
}

/** fieldpath's order: fields before keys before values before indexes, then by content. */
const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };
export function comparePathElements(a: string, b: string): number {
  const ka = KIND_ORDER[a[0]!] ?? 4;
  const kb = KIND_ORDER[b[0]!] ?? 4;
  if (ka !== kb) return ka - kb;
  if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A path as structured-merge-diff prints it in conflict messages: `.spec.ports[port=80,protocol="TCP"]`. */
export function pathString(path: Path): string {
  return path
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${body}`;
        case 'k':
          return `[${Object.entries(JSON.parse(body) as JsonObject)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
