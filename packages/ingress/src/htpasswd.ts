/**
 * htpasswd entries as nginx's auth_basic_user_file reads them, limited to the hash formats that are
 * safe enough to keep and common in the wild:
 *
 * - bcrypt `$2a$`/`$2b$`/`$2y$` (htpasswd -B), checked with bcryptjs;
 * - MD5-crypt `$apr1$` (htpasswd's default) and `$1$` (openssl passwd -1);
 * - `{SHA}` (htpasswd -s: base64 of the SHA-1) and `{SSHA}` (salted SHA-1).
 *
 * Refused, each with the reason: DES crypt (13 characters, only the first 8 of the password
 * count), plain text and `{PLAIN}` (a leaked Secret is a leaked password), and the crypt formats
 * this module does not implement (`$5$`, `$6$`, `$y$`...). A refused entry is left out; the other
 * users of the file still work.
 *
 * Every comparison of a computed hash with the stored one is constant-time (timingSafeEqual, or
 * bcryptjs's own constant-time compare). Verified credentials are remembered (a bounded map per
 * user list), so a client that sends the same good credentials again does not pay for bcrypt again:
 * bcrypt is synchronous here and costs milliseconds of the worker's event loop each time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

export interface HtpasswdEntry {
  readonly user: string;
  readonly hash: string;
}

export interface ParsedHtpasswd {
  readonly entries: HtpasswdEntry[];
  /** Lines left out, with why: `line N (user "x"): reason`. Never the hash itself. */
  readonly refused: string[];
}

/** Parses htpasswd text (auth-file); blank lines and `#` comments are skipped. */
export function parseHtpasswd(text: string): ParsedHtpasswd {
  const entries: HtpasswdEntry[] = [];
  const refused: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      refused.push(`line ${i + 1}: not "user:hash"`);
      return;
    }
    const user = line.slice(0, colon);
    // nginx reads the hash up to the next colon (htpasswd files may carry a comment field after it).
    const rest = line.slice(colon + 1);
    const hash = rest.split(':')[0]!;
    const why = hashProblem(hash);
    if (why) refused.push(`line ${i + 1} (user ${JSON.stringify(user)}): ${why}`);
    else entries.push({ user, hash });
  });
  return { entries, refused };
}

/** Why a stored hash is not accepted, or undefined when it is. */
export function hashProblem(hash: string): string | undefined {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return undefined;
  if (/^\$(?:apr1|1)\$[^$]{0,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return undefined;
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return undefined;
  if (/^\{SSHA\}[A-Za-z0-9+/]+=*$/.test(hash) && Buffer.from(hash.slice(6), 'base64').length > 20)
    return undefined;
  if (hash.startsWith('{PLAIN}')) return 'plain-text passwords are not accepted; use bcrypt (htpasswd -B)';
  if (/^[./A-Za-z0-9]{13}$/.test(hash))
    return 'DES crypt is not accepted (only 8 password characters count); use bcrypt (htpasswd -B)';
  const scheme = /^\$([^$]+)\$/.exec(hash)?.[1];
  if (scheme !== undefined)
    return `hash scheme $${scheme}$ is not supported; use bcrypt (htpasswd -B), $apr1$ or {SHA}`;
  return 'not a supported hash (a plain-text password?); use bcrypt (htpasswd -B), $apr1$ or {SHA}';
}

/** Whether `password` matches the stored `hash` (one of the accepted formats). */
export function verifyHash(password: string, hash: string): boolean {
  if (hash.startsWith('$2')) return bcrypt.compareSync(password, hash);
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) {
    const magic = hash.startsWith('$1$') ? '$1$' : '$apr1$';
    const salt = hash.slice(magic.length, hash.indexOf('$', magic.length));
    return sameText(md5Crypt(password, salt, magic), hash);
  }
  if (hash.startsWith('{SHA}'))
    return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
  if (hash.startsWith('{SSHA}')) {
    const stored = Buffer.from(hash.slice(6), 'base64');
    const salt = stored.subarray(20);
    const digest = createHash('sha1').update(password).update(salt).digest();
    return timingSafeEqual(digest, stored.subarray(0, 20));
  }
  return false;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** MD5-crypt (Poul-Henning Kamp's, as Apache's `$apr1$` and glibc's `$1$` define it). */
export function md5Crypt(password: string, salt: string, magic: '$1$' | '$apr1$'): string {
  const pw = Buffer.from(password);
  const s = Buffer.from(salt.slice(0, 8));
  const alt = createHash('md5').update(pw).update(s).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(s);
  for (let n = pw.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(16, n)));
  for (let n = pw.length; n > 0; n >>= 1) ctx.update(n & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? pw : final);
    if (i % 3) round.update(s);
    if (i % 7) round.update(pw);
    round.update(i & 1 ? final : pw);
    final = round.digest();
  }
  let out = '';
  const put = (value: number, chars: number): void => {
    for (let c = 0; c < chars; c++, value >>= 6) out += ITOA64[value & 0x3f];
  };
  for (const [a, b, c] of [
    [0, 6, 12],
    [1, 7, 13],
    [2, 8, 14],
    [3, 9, 15],
    [4, 10, 5],
  ] as const)
    put((final[a]! << 16) | (final[b]! << 8) | final[c]!, 4);
  put(final[11]!, 2);
  return `${magic}${salt.slice(0, 8)}$${out}`;
}

/** Good credentials remembered per user list; cleared when full, so it cannot grow without bound. */
const REMEMBERED = 256;

/** A user list ready to check `Authorization: Basic` values against. */
export class BasicCredentials {
  private readonly users = new Map<string, string>();
  private readonly verified = new Set<string>();

  constructor(entries: readonly HtpasswdEntry[]) {
    // nginx takes the first line of a user; later duplicates are ignored.
    for (const e of entries) if (!this.users.has(e.user)) this.users.set(e.user, e.hash);
  }

  /** Whether an Authorization header value carries a user and password of this list. */
  check(authorization: string | undefined): boolean {
    if (authorization === undefined) return false;
    if (this.verified.has(authorization)) return true;
    const m = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(authorization);
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const hash = this.users.get(decoded.slice(0, colon));
    if (hash === undefined || !verifyHash(decoded.slice(colon + 1), hash)) return false;
    if (this.verified.size >= REMEMBERED) this.verified.clear();
    this.verified.add(authorization);
    return true;
  }
}
