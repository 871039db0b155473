/**
 * Paths: what was routed must be what the pod serves. Each target tries to reach the api pod (or
 * another host) through the public route. A request reaching a pod whose normalised path belongs
 * to another route is a routing bypass (the comparison with nginx catches it: nginx routes on the
 * normalised path).
 */
import { req, type Case } from '../case.js';

const target = (name: string, t: string, host = 'app.example', why?: string): Case => ({
  name: `paths: ${name}`,
  send: req([`GET ${t} HTTP/1.1`, `Host: ${host}`]),
  ...(why ? { why } : {}),
});

const STAYS_INSIDE =
  'the dot-dot only removes the escaped segment before it, so the path stays inside /public, the route it was matched by; nginx refuses the escape with 400';

const targets: [string, string, string?][] = [
  ['dot-dot', '/public/../api/x'],
  ['dot-dot at the end', '/public/x/../../api'],
  ['encoded dot-dot', '/public/%2e%2e/api/x'],
  ['encoded dot-dot, upper case', '/public/%2E%2E/api/x'],
  ['half-encoded dot-dot', '/public/.%2e/api/x'],
  ['dot-dot with an encoded slash', '/public/..%2fapi/x'],
  ['fully encoded dot-dot-slash', '/public/%2e%2e%2fapi/x'],
  ['encoded slash inside a segment', '/api%2fx'],
  ['encoded slash after the prefix', '/public%2f..%2fapi/x'],
  ['double-encoded dot-dot', '/public/%252e%252e/api/x'],
  ['double slash', '//api/x'],
  ['double slash then dot-dot', '/public//../api/x'],
  ['single dot', '/./api/x'],
  ['three dots', '/public/.../api/x'],
  ['backslash dot-dot', '/public\\..\\api\\x'],
  ['encoded backslash dot-dot', '/public/%5c..%5capi/x'],
  ['semicolon dot-dot (path parameters)', '/public/..;/api/x'],
  ['semicolon segment', '/public/;/../api/x'],
  ['encoded unreserved letter', '/%70ublic/x'],
  ['encoded letter into api', '/%61pi/x'],
  ['fragment', '/public/x#frag'],
  ['fragment hiding dot-dot', '/public/x#/../../api/x'],
  ['query with dot-dot', '/public/x?/../../api/x'],
  ['upper-case prefix', '/API/x'],
  ['exact prefix', '/public'],
  ['prefix without a boundary', '/publicity'],
  ['NUL escape', '/public/%00/../api/x', STAYS_INSIDE],
  ['CRLF escape', '/public/x%0d%0aX-Injected:%20yes'],
  ['overlong UTF-8 dots', '/public/%c0%ae%c0%ae/api/x'],
  ['invalid escape', '/public/%zz/../api/x', STAYS_INSIDE],
  ['empty segment dot-dot', '/public/x//..//../api/x'],
  ['trailing dot-dot segment', '/public/..'],
];

export const PATHS: Case[] = [
  ...targets.map(([n, t, why]) => target(n, t, 'app.example', why)),
  target('dot-dot to another host path', '/public/../x', 'other.example'),
  {
    name: 'paths: dot-dot in absolute-form',
    send: req(['GET http://app.example/public/../api/x HTTP/1.1', 'Host: app.example']),
  },
  {
    name: 'paths: dot-dot over TLS',
    tls: true,
    send: req(['GET /public/%2e%2e/api/x HTTP/1.1', 'Host: app.example']),
  },
];
