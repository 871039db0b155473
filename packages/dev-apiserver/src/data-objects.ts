/**
 * ConfigMap and Secret rules of the real server (ValidateConfigMap, ValidateSecret and their
 * updates): keys are config keys (`[-._a-zA-Z0-9]+`, not `.` or `..`); a ConfigMap key is in
 * `data` or `binaryData`, not both; an `immutable: true` object keeps its data and its
 * immutability; a Secret keeps its type and has the keys its type requires, and a TLS Secret
 * whose certificate and key do not make a pair is stored with a warning. (Base64 and stringData
 * are decoding's business: typed.ts and defaults.ts.)
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { invalid, type FieldError } from './errors.js';
import { isObject, jsonEqual, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';
import { isConfigMapKey } from './validation.js';

function keyErrors(map: unknown, field: string, errors: FieldError[]): string[] {
  if (!isObject(map)) return [];
  for (const key of Object.keys(map)) {
    for (const detail of isConfigMapKey(key)) {
      errors.push({ type: 'FieldValueInvalid', field: `${field}[${key}]`, value: key, detail });
    }
  }
  return Object.keys(map);
}

function immutableErrors(body: JsonObject, old: JsonObject, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errors: FieldError[] = [];
  const forbidden = (field: string) =>
    errors.push({ type: 'FieldValueForbidden', field, detail: 'field is immutable when `immutable` is set' });
  if (body.immutable !== true) forbidden('immutable');
  for (const f of fields) if (!jsonEqual(body[f], old[f])) forbidden(f);
  return errors;
}

/** Normalises and validates a ConfigMap or Secret before it is stored (mutates `body`). */
export function prepareDataObject(resource: ResourceInfo, body: JsonObject, old?: JsonObject): void {
  if (resource.kind !== 'ConfigMap' && resource.kind !== 'Secret') return;
  const name = String((body.metadata as JsonObject).name);
  const errors: FieldError[] = [];
  if (resource.kind === 'Secret') {
    if (old) {
      if (body.type !== old.type) {
        errors.push({
          type: 'FieldValueInvalid',
          field: 'type',
          value: body.type,
          detail: 'field is immutable',
        });
      }
      errors.push(...immutableErrors(body, old, ['data']));
    }
    keyErrors(body.data, 'data', errors);
    errors.push(...secretTypeErrors(body));
  } else {
    if (old) errors.push(...immutableErrors(body, old, ['data', 'binaryData']));
    const keys = keyErrors(body.data, 'data', errors);
    const binary = isObject(body.binaryData) ? Object.keys(body.binaryData) : [];
    for (const key of keys) {
      if (binary.includes(key)) {
        errors.push({
          type: 'FieldValueInvalid',
          field: `data[${key}]`,
          value: key,
          detail: 'duplicate of key present in binaryData',
        });
      }
    }
    keyErrors(body.binaryData, 'binaryData', errors);
  }
  if (errors.length) throw invalid(resource, name, errors);
}

/** The keys each Secret type requires. */
function secretTypeErrors(secret: JsonObject): FieldError[] {
  const data = isObject(secret.data) ? secret.data : {};
  const has = (key: string) => data[key] !== undefined;
  const required = (field: string): FieldError => ({ type: 'FieldValueRequired', field, detail: '' });
  switch (secret.type) {
    case 'kubernetes.io/service-account-token': {
      const annotations = isObject((secret.metadata as JsonObject).annotations)
        ? ((secret.metadata as JsonObject).annotations as JsonObject)
        : {};
      return annotations['kubernetes.io/service-account.name']
        ? []
        : [required('metadata.annotations[kubernetes.io/service-account.name]')];
    }
    case 'kubernetes.io/dockercfg':
      return has('.dockercfg') ? [] : [required('data[.dockercfg]')];
    case 'kubernetes.io/dockerconfigjson':
      return has('.dockerconfigjson') ? [] : [required('data[.dockerconfigjson]')];
    case 'kubernetes.io/basic-auth':
      return has('username') || has('password')
        ? []
        : [required('data[username]'), required('data[password]')];
    case 'kubernetes.io/ssh-auth':
      return data['ssh-privatekey'] ? [] : [required('data[ssh-privatekey]')];
    case 'kubernetes.io/tls':
      return [
        ...(has('tls.crt') ? [] : [required('data[tls.crt]')]),
        ...(has('tls.key') ? [] : [required('data[tls.key]')]),
      ];
    default:
      return [];
  }
}

/** tls.X509KeyPair's complaint about a TLS Secret's certificate and key, as the real server warns. */
export function secretWarnings(secret: JsonObject): string[] {
  if (secret.type !== 'kubernetes.io/tls') return [];
  const data = isObject(secret.data) ? secret.data : {};
  const text = (key: string) => Buffer.from(String(data[key] ?? ''), 'base64').toString('utf8');
  const cert = text('tls.crt');
  const key = text('tls.key');
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(cert))
    return ['tls: failed to find any PEM data in certificate input'];
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(key)) return ['tls: failed to find any PEM data in key input'];
  try {
    const publicKey = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    const privateKey = createPrivateKey(key);
    const derived = createPublicKeyFrom(privateKey);
    return derived.equals(publicKey) ? [] : ['tls: private key does not match public key'];
  } catch (error) {
    return [`tls: ${(error as Error).message}`];
  }
}

function createPublicKeyFrom(privateKey: ReturnType<typeof createPrivateKey>): Buffer {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
}
