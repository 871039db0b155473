/**
 * Redirecting every request of an Ingress to one URL, as ingress-nginx does:
 *
 * - `permanent-redirect: URL` answers 301 (`permanent-redirect-code`: 300–308);
 * - `temporal-redirect: URL` answers 302 (`temporal-redirect-code`: 300–307) and wins over a
 *   permanent one.
 *
 * The URL is sent as written, as the Location (nginx variables such as `$request_uri` are not
 * expanded). It must be an absolute http(s) URL of visible ASCII characters: no space, CR, LF or
 * other control, so a value can never add a header or end the response head (the header
 * injection class of ingress-nginx's CVE-2023-5044). A code outside the range keeps the default.
 */
import type { AnnotationFamily } from './family.js';
import type { AnnotationReader } from './read.js';

export interface UrlRedirectChoice {
  readonly redirectTo?: { readonly url: string; readonly code: number };
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const MAX_LENGTH = 2048;

export function parseRedirectUrl(value: string): string | undefined {
  if (value.length > MAX_LENGTH || !VISIBLE_ASCII.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

const URL_EXPECTED = 'an absolute http or https URL (visible ASCII, no spaces or line breaks)';

function code(reader: AnnotationReader, name: string, max: number, fallback: number): number {
  const parse = (v: string): number | undefined => {
    const n = /^\d{3}$/.test(v) ? Number(v) : NaN;
    return n >= 300 && n <= max ? n : undefined;
  };
  return reader.read(name, parse, `a redirect status code from 300 to ${max}`) ?? fallback;
}

export const urlRedirectAnnotations: AnnotationFamily<UrlRedirectChoice> = {
  names: ['permanent-redirect', 'permanent-redirect-code', 'temporal-redirect', 'temporal-redirect-code'],
  read(reader) {
    const temporal = reader.read('temporal-redirect', parseRedirectUrl, URL_EXPECTED);
    const temporalCode = code(reader, 'temporal-redirect-code', 307, 302);
    const permanent = reader.read('permanent-redirect', parseRedirectUrl, URL_EXPECTED);
    const permanentCode = code(reader, 'permanent-redirect-code', 308, 301);
    if (temporal !== undefined) return { redirectTo: { url: temporal, code: temporalCode } };
    if (permanent !== undefined) return { redirectTo: { url: permanent, code: permanentCode } };
    return {};
  },
};
