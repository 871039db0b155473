/**
 * Decoding of the Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf), which
 * kubectl's typed client uses to send bodies for its generators (`kubectl create namespace`,
 * `create configmap`, `create secret generic`, `create service ...`, `create ingress`). The
 * envelope is the magic bytes "k8s\0" followed by a runtime.Unknown message {typeMeta=1, raw=2, contentEncoding=3,
 * contentType=4}; `raw` holds the typed message, whose field numbers come from k8s.io/api's
 * generated.proto. Only the kinds listed in SCHEMAS are understood; responses are always JSON.
 *
 * Go's protobuf encoder writes every non-pointer field, zero or not, while its JSON encoder omits
 * empty ones (`omitempty`); decoded zero values of non-pointer fields are therefore dropped.
 */
import { ApiError } from './errors.js';
import type { JsonObject } from './json.js';

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'intOrString';

interface Field {
  name: string;
  type: Scalar | Schema | { map: 'string' | 'bytes' };
  repeated?: boolean;
  /** A pointer field in Go: present means set, even when zero. */
  pointer?: boolean;
  /** An embedded struct whose JSON fields are inlined into the parent (`json:",inline"`). */
  inline?: boolean;
}

type Schema = Record<number, Field>;

const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool', pointer: true },
  7: { name: 'blockOwnerDeletion', type: 'bool', pointer: true },
};

const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const SERVICE_PORT: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'protocol', type: 'string' },
  3: { name: 'port', type: 'int' },
  4: { name: 'targetPort', type: 'intOrString' },
  5: { name: 'nodePort', type: 'int' },
  6: { name: 'appProtocol', type: 'string', pointer: true },
};

const SERVICE_SPEC: Schema = {
  1: { name: 'ports', type: SERVICE_PORT, repeated: true },
  2: { name: 'selector', type: { map: 'string' } },
  3: { name: 'clusterIP', type: 'string' },
  4: { name: 'type', type: 'string' },
  5: { name: 'externalIPs', type: 'string', repeated: true },
  7: { name: 'sessionAffinity', type: 'string' },
  8: { name: 'loadBalancerIP', type: 'string' },
  9: { name: 'loadBalancerSourceRanges', type: 'string', repeated: true },
  10: { name: 'externalName', type: 'string' },
  11: { name: 'externalTrafficPolicy', type: 'string' },
  12: { name: 'healthCheckNodePort', type: 'int' },
  13: { name: 'publishNotReadyAddresses', type: 'bool' },
  17: { name: 'ipFamilyPolicy', type: 'string', pointer: true },
  18: { name: 'clusterIPs', type: 'string', repeated: true },
  19: { name: 'ipFamilies', type: 'string', repeated: true },
  20: { name: 'allocateLoadBalancerNodePorts', type: 'bool', pointer: true },
  21: { name: 'loadBalancerClass', type: 'string', pointer: true },
  22: { name: 'internalTrafficPolicy', type: 'string', pointer: true },
};

const INGRESS_BACKEND: Schema = {
  4: {
    name: 'service',
    type: {
      1: { name: 'name', type: 'string' },
      2: { name: 'port', type: { 1: { name: 'name', type: 'string' }, 2: { name: 'number', type: 'int' } } },
    },
  },
  3: {
    name: 'resource',
    type: {
      1: { name: 'apiGroup', type: 'string', pointer: true },
      2: { name: 'kind', type: 'string' },
      3: { name: 'name', type: 'string' },
    },
  },
};

const INGRESS_SPEC: Schema = {
  1: { name: 'defaultBackend', type: INGRESS_BACKEND },
  2: {
    name: 'tls',
    repeated: true,
    type: { 1: { name: 'hosts', type: 'string', repeated: true }, 2: { name: 'secretName', type: 'string' } },
  },
  3: {
    name: 'rules',
    repeated: true,
    type: {
      1: { name: 'host', type: 'string' },
      2: {
        name: 'ingressRuleValue',
        inline: true,
        type: {
          1: {
            name: 'http',
            type: {
              1: {
                name: 'paths',
                repeated: true,
                type: {
                  1: { name: 'path', type: 'string' },
                  3: { name: 'pathType', type: 'string', pointer: true },
                  2: { name: 'backend', type: INGRESS_BACKEND },
                },
              },
            },
          },
        },
      },
    },
  },
  4: { name: 'ingressClassName', type: 'string', pointer: true },
};

const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  },
  'v1/ConfigMap': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: 'string' } },
    3: { name: 'binaryData', type: { map: 'bytes' } },
    4: { name: 'immutable', type: 'bool', pointer: true },
  },
  'v1/Secret': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool', pointer: true },
  },
  'v1/Service': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: SERVICE_SPEC },
  },
  'networking.k8s.io/v1/Ingress': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: INGRESS_SPEC },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function unsupported(what: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${what}) - use application/json`,
  );
}

/** A cursor over protobuf wire format (https://protobuf.dev/programming-guides/encoding/). */
class Reader {
  private pos: number;
  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw unsupported('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw unsupported('varint too long');
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.end) throw unsupported('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw unsupported(`wire type ${wireType}`);
  }
}

/** Fields of a message as (number, wire type, varint value or bytes). */
function* fields(buf: Buffer): Generator<{ no: number; wire: number; value: bigint | Buffer }> {
  const reader = new Reader(buf);
  while (!reader.done) {
    const tag = Number(reader.varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, value: reader.varint() };
    else if (wire === 2) yield { no, wire, value: reader.bytes() };
    else reader.skip(wire);
  }
}

function toSigned(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}

function decodeMapEntry(buf: Buffer, valueType: 'string' | 'bytes'): [string, string] {
  let key = '';
  let value = '';
  for (const f of fields(buf)) {
    if (!(f.value instanceof Buffer)) continue;
    if (f.no === 1) key = f.value.toString('utf8');
    else if (f.no === 2)
      value = valueType === 'bytes' ? f.value.toString('base64') : f.value.toString('utf8');
  }
  return [key, value];
}

function decodeScalar(type: Scalar, value: bigint | Buffer): unknown {
  switch (type) {
    case 'string':
      return value instanceof Buffer ? value.toString('utf8') : undefined;
    case 'bytes':
      return value instanceof Buffer ? value.toString('base64') : undefined;
    case 'int':
      return typeof value === 'bigint' ? toSigned(value) : undefined;
    case 'bool':
      return typeof value === 'bigint' ? value !== 0n : undefined;
    case 'intOrString': {
      if (!(value instanceof Buffer)) return undefined;
      const m = decodeMessage(value, {
        1: { name: 'type', type: 'int' },
        2: { name: 'intVal', type: 'int' },
        3: { name: 'strVal', type: 'string' },
      });
      return m.type === 1 ? (m.strVal ?? '') : (m.intVal ?? 0);
    }
  }
}

function isZero(value: unknown): boolean {
  if (value === '' || value === 0 || value === false || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const out: JsonObject = {};
  for (const f of fields(buf)) {
    const field = schema[f.no];
    if (!field) continue;
    let value: unknown;
    if (typeof field.type === 'string') {
      if (f.wire === 2 && field.repeated && field.type === 'int') continue; // packed ints are not used by these kinds
      value = decodeScalar(field.type, f.value);
    } else if ('map' in field.type) {
      if (!(f.value instanceof Buffer)) continue;
      const [k, v] = decodeMapEntry(f.value, field.type.map as 'string' | 'bytes');
      const map = (out[field.name] ??= {}) as JsonObject;
      map[k] = v;
      continue;
    } else {
      if (!(f.value instanceof Buffer)) continue;
      value = decodeMessage(f.value, field.type as Schema);
    }
    if (value === undefined) continue;
    if (field.inline && value !== null && typeof value === 'object') {
      Object.assign(out, value);
      continue;
    }
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else out[field.name] = value;
  }
  for (const field of Object.values(schema)) {
    if (!field.pointer && !field.repeated && isZero(out[field.name])) delete out[field.name];
  }
  return out;
}

/** Decodes a protobuf request body into the JSON form of the object. */
export function decodeKubernetesProtobuf(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupported('missing k8s protobuf magic');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(4))) {
    if (!(f.value instanceof Buffer)) continue;
    if (f.no === 1) {
      for (const t of fields(f.value)) {
        if (!(t.value instanceof Buffer)) continue;
        if (t.no === 1) apiVersion = t.value.toString('utf8');
        if (t.no === 2) kind = t.value.toString('utf8');
      }
    } else if (f.no === 2) {
      raw = f.value;
    } else if (f.no === 3 && f.value.length > 0) {
      throw unsupported(`content encoding ${f.value.toString('utf8')}`);
    }
  }
  const schema = SCHEMAS[`${apiVersion}/${kind}`];
  if (!schema || !raw)
    throw unsupported(`protobuf for ${apiVersion}/${kind} is not supported by the development server`);
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
