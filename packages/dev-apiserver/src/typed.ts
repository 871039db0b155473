/**
 * What the real server's decoding into Go structs and encoding back to JSON does to an object,
 * done on the JSON with the schema: decoding drops fields the type does not have (reported as
 * `unknown field "spec.foo"`, in the order met) and nulls (a null leaves a Go field at its zero
 * value); encoding writes what Go's encoding/json writes for the struct: zero values of fields
 * without omitempty (`"endpoints": null`, `"port": 0`), empty structs that are not pointers
 * (`"status": {"loadBalancer": {}}`), nothing for empty omitempty fields (`"data": {}` goes
 * away), and times in their canonical form (seconds for Time, microseconds for MicroTime, UTC).
 * Objects come back from etcd's protobuf, which keeps no difference between an empty list or map
 * and none: those are written as Go writes nil (`null`, or nothing with omitempty).
 */
import { isObject, type JsonObject } from './json.js';
import { atomOf, resolve, type FieldDef, type TypeRef } from './schema.js';

/** A decoded request object, the unknown fields it had, and the first value Go could not decode. */
export interface Decoded {
  value: JsonObject;
  unknown: string[];
  error?: string;
}

const RFC3339 = '2006-01-02T15:04:05Z07:00';
const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

/**
 * Why Go's time.Parse refuses VALUE for metav1.Time (RFC 3339, any fraction) or metav1.MicroTime
 * (exactly six fractional digits), in its words; undefined when it parses.
 */
export function timeParseError(value: string, micro: boolean): string | undefined {
  const layout = micro ? RFC3339_MICRO : RFC3339;
  const head = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(value);
  if (!head)
    return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(value)} as "2006"`;
  const rest = value.slice(19);
  const tail = micro ? /^\.\d{6}(Z|[+-]\d\d:\d\d)$/ : /^(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
  if (!tail.test(rest)) {
    return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(micro ? '.000000' : 'Z07:00')}`;
  }
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** encoding/base64's complaint about a []byte field that is not padded standard base64. */
function base64Error(value: string): string | undefined {
  const text = value.replace(/[\r\n]/g, '');
  if (BASE64.test(text)) return undefined;
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  const padding = text.indexOf('=');
  const at = bad >= 0 ? bad : padding >= 0 ? padding : Math.floor(text.length / 4) * 4;
  return `illegal base64 data at input byte ${at}`;
}

export function decode(value: JsonObject, type: TypeRef): Decoded {
  const unknown: string[] = [];
  let error: string | undefined;
  const walk = (v: unknown, t: TypeRef, path: string): unknown => {
    if (v === null || v === undefined) return undefined;
    const atom = atomOf(t, v);
    switch (atom.kind) {
      case 'scalar':
        if ((t === 'time' || t === 'micro-time') && typeof v === 'string' && v !== '') {
          error ??= timeParseError(v, t === 'micro-time');
        }
        if (t === 'bytes' && typeof v === 'string') error ??= base64Error(v);
        return v;
      case 'list':
        return Array.isArray(v) ? v.map((item, i) => walk(item, atom.list.list, `${path}[${i}]`) ?? null) : v;
      case 'map': {
        if (!isObject(v)) return v;
        const out: JsonObject = {};
        for (const [key, child] of Object.entries(v)) {
          const decoded = walk(child, atom.elem, path ? `${path}.${key}` : key);
          // A null map value decodes to the element's zero value (map[string]string: "").
          out[key] = decoded === undefined ? zeroScalar(atom.elem) : decoded;
        }
        return out;
      }
      case 'struct': {
        if (!isObject(v)) return v;
        const out: JsonObject = {};
        for (const [key, child] of Object.entries(v)) {
          const childPath = path ? `${path}.${key}` : key;
          const field = atom.def.fields[key];
          if (!field) {
            if (atom.def.preserveUnknown) out[key] = child;
            else unknown.push(childPath);
            continue;
          }
          const decoded = walk(child, field.type, childPath);
          if (decoded !== undefined) out[key] = decoded;
        }
        return out;
      }
    }
  };
  const decoded = (walk(value, type, '') as JsonObject | undefined) ?? {};
  return { value: decoded, unknown, ...(error ? { error } : {}) };
}

function zeroScalar(type: TypeRef): unknown {
  switch (type) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

/** RFC 3339 in UTC with seconds (metav1.Time) or microseconds (metav1.MicroTime). */
export function formatTime(value: unknown, micro: boolean): unknown {
  if (typeof value !== 'string') return value;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(value);
  if (!match) return value;
  const date = new Date(`${match[1]}${match[3]}`);
  if (Number.isNaN(date.getTime())) return value;
  const seconds = date.toISOString().slice(0, 19);
  if (!micro) return `${seconds}Z`;
  const fraction = (match[2] ?? '.').slice(1).padEnd(6, '0').slice(0, 6);
  return `${seconds}.${fraction}Z`;
}

function isEmpty(value: unknown, type: TypeRef): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) {
    // omitempty never omits a struct, only maps.
    return typeof type === 'object' && 'map' in type && Object.keys(value).length === 0;
  }
  return value === '' || value === 0 || value === false;
}

/** The value Go writes for a struct field the object does not set. */
function absentField(field: FieldDef): { value?: unknown } {
  if (field.pointer) return field.omitempty ? {} : { value: null };
  const type = field.type;
  if (typeof type === 'object' && 'ref' in type) return field.omitzero ? {} : { value: encode({}, type) };
  switch (type) {
    case 'time':
    case 'micro-time':
      return field.omitzero ? {} : { value: null };
    case 'int-or-string':
      return { value: 0 };
    case 'quantity':
      return { value: '0' };
    case 'any':
      return {};
  }
  if (field.omitempty) return {};
  if (typeof type === 'object') return { value: null };
  return { value: zeroScalar(type) };
}

/** VALUE as Go's encoding/json writes the struct it decodes into. */
export function encode(value: unknown, type: TypeRef): unknown {
  if (value === undefined) return undefined;
  if (type === 'time' || type === 'micro-time') return formatTime(value, type === 'micro-time');
  if (type === 'any' || typeof type === 'string') return value;
  const atom = resolve(type);
  switch (atom.kind) {
    case 'list':
      return Array.isArray(value) ? value.map((item) => encode(item, atom.list.list) ?? null) : value;
    case 'map': {
      if (!isObject(value)) return value;
      const out: JsonObject = {};
      for (const [key, child] of Object.entries(value)) out[key] = encode(child, atom.elem) ?? null;
      return out;
    }
    case 'struct': {
      if (!isObject(value)) return value;
      const out: JsonObject = {};
      if (atom.def.unstructured) {
        // As Go's encoding/json writes a map: what is there, keys sorted.
        for (const key of Object.keys(value).sort()) {
          const field = atom.def.fields[key];
          const child = value[key];
          if (child === undefined) continue;
          out[key] = field ? (encode(child, field.type) ?? null) : child;
        }
        return out;
      }
      for (const [name, field] of Object.entries(atom.def.fields)) {
        const child = value[name];
        // Stored as protobuf, an empty list or map comes back nil: written as null, or left out.
        const emptyCollection =
          typeof field.type === 'object' &&
          !('ref' in field.type) &&
          ((Array.isArray(child) && child.length === 0) ||
            (isObject(child) && Object.keys(child).length === 0));
        if (child === undefined || child === null || emptyCollection) {
          const absent = absentField(field);
          if ('value' in absent) out[name] = absent.value;
          continue;
        }
        if (!field.pointer && field.omitempty && isEmpty(child, field.type)) continue;
        out[name] = encode(child, field.type);
      }
      return out;
    }
    case 'scalar':
      return value;
  }
}
