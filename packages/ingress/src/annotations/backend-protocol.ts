/**
 * How Portico speaks to the pods of an Ingress's routes, read as ingress-nginx reads it:
 *
 * - `backend-protocol`: `HTTP` (default: HTTP/1.1 in clear), `HTTPS` (HTTP/1.1 over TLS), `GRPC`
 *   (HTTP/2 in clear, h2c with prior knowledge), `GRPCS` (HTTP/2 over TLS). Case-insensitive, as
 *   ingress-nginx upper-cases it; its `AUTO_HTTP` and `FCGI` are refused (not served here).
 * - `proxy-ssl-verify` (`on`/`off`, default off): verify the pod's certificate. Off, as
 *   ingress-nginx's default: TLS to the pod encrypts but does not authenticate it.
 * - `proxy-ssl-secret` (`namespace/name`, the Ingress's own namespace only): `ca.crt` to verify the
 *   pod against, `tls.crt` and `tls.key` to present as client certificate (compile.ts reads it).
 * - `proxy-ssl-name`: the name the pod's certificate is verified against, and sent as SNI when
 *   `proxy-ssl-server-name` is on.
 * - `proxy-ssl-server-name` (`on`/`off`, default off): send SNI. The name sent is `proxy-ssl-name`,
 *   else the request's host (ingress-nginx's default would be its internal upstream name).
 *
 * The TLS settings apply to HTTPS and GRPCS backends. Plain data: the worker builds the TLS
 * options and pools from it (upstreams.ts, upstream-h2.ts).
 */
import type { AnnotationFamily } from './family.js';

export type BackendProtocol = 'HTTPS' | 'GRPC' | 'GRPCS';

export interface ProxySsl {
  readonly verify?: true;
  readonly serverName?: true;
  readonly name?: string;
  /** `namespace/name` of the Secret, as written. */
  readonly secret?: string;
  /** PEM from the Secret, filled in by the compiler. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface BackendProtocolChoice {
  readonly backendProtocol?: BackendProtocol;
  readonly proxySsl?: ProxySsl;
}

const onOff = (value: string): boolean | undefined =>
  value === 'on' ? true : value === 'off' ? false : undefined;

const PROTOCOLS = new Set(['HTTP', 'HTTPS', 'GRPC', 'GRPCS']);

/** A DNS name (ingress-nginx ValidateServerName: a host name, optionally a wildcard). */
const SERVER_NAME =
  /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const SECRET = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\/[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;

export const backendProtocolAnnotations: AnnotationFamily<BackendProtocolChoice> = {
  names: [
    'backend-protocol',
    'proxy-ssl-verify',
    'proxy-ssl-secret',
    'proxy-ssl-name',
    'proxy-ssl-server-name',
  ],
  read(reader) {
    const choice: { backendProtocol?: BackendProtocol; proxySsl?: ProxySsl } = {};
    const protocol = reader.read(
      'backend-protocol',
      (v) => (PROTOCOLS.has(v.trim().toUpperCase()) ? v.trim().toUpperCase() : undefined),
      'HTTP, HTTPS, GRPC or GRPCS',
    );
    if (protocol !== undefined && protocol !== 'HTTP') choice.backendProtocol = protocol as BackendProtocol;
    const ssl: { verify?: true; serverName?: true; name?: string; secret?: string } = {};
    if (reader.read('proxy-ssl-verify', onOff, '"on" or "off"') === true) ssl.verify = true;
    if (reader.read('proxy-ssl-server-name', onOff, '"on" or "off"') === true) ssl.serverName = true;
    const name = reader.read(
      'proxy-ssl-name',
      (v) => (SERVER_NAME.test(v) ? v.toLowerCase() : undefined),
      'a DNS name',
    );
    if (name !== undefined) ssl.name = name;
    const secret = reader.read(
      'proxy-ssl-secret',
      (v) => (SECRET.test(v) ? v : undefined),
      '"namespace/name" of a Secret',
    );
    if (secret !== undefined) ssl.secret = secret;
    if (Object.keys(ssl).length > 0) choice.proxySsl = ssl;
    return choice;
  },
};

/** Whether the protocol runs over TLS (the proxySsl settings apply). */
export function secureProtocol(protocol: BackendProtocol | undefined): boolean {
  return protocol === 'HTTPS' || protocol === 'GRPCS';
}
