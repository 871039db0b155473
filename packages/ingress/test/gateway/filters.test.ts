// The filter functions, with the facts of the upstream conformance tests HTTPRouteRewritePath and
// the RequestRedirect port/scheme rules of the HTTPRoute spec.
import { describe, expect, it } from 'vitest';
import {
  modifiedPath,
  modifyHeaderObject,
  modifyRawHeaders,
  redirectLocation,
} from '../../src/gateway/filters.js';

describe('URLRewrite / RequestRedirect paths (HTTPRouteRewritePath)', () => {
  const prefix = (replacePrefixMatch: string) => ({ type: 'ReplacePrefixMatch', replacePrefixMatch });
  const full = (replaceFullPath: string) => ({ type: 'ReplaceFullPath', replaceFullPath });
  it.each([
    ['/prefix/one', prefix('/one'), '/prefix/one/two', '/one/two'],
    ['/strip-prefix', prefix('/'), '/strip-prefix/three', '/three'],
    ['/strip-prefix', prefix('/'), '/strip-prefix', '/'],
    ['/full/one', full('/one'), '/full/one/two', '/one'],
    [
      '/full/rewrite-path-and-modify-headers',
      full('/test'),
      '/full/rewrite-path-and-modify-headers/test',
      '/test',
    ],
    [
      '/prefix/rewrite-path-and-modify-headers',
      prefix('/prefix'),
      '/prefix/rewrite-path-and-modify-headers/one',
      '/prefix/one',
    ],
    ['/prefix/one', prefix('/one/'), '/prefix/one/', '/one/'],
  ])('match %s, %j: %s -> %s', (match, modifier, path, want) => {
    expect(modifiedPath(modifier, path, match.replace(/\/+$/, ''))).toBe(want);
  });
});

describe('RequestRedirect Location', () => {
  const input = {
    proto: 'http' as const,
    host: 'example.com',
    listenerPort: 8080,
    path: '/a',
    query: '?q=1',
    matchedPrefix: undefined,
  };
  it('keeps what is unset; without scheme the listener port, with scheme its well-known port (left out)', () => {
    expect(redirectLocation({}, input)).toBe('http://example.com:8080/a?q=1');
    expect(redirectLocation({ scheme: 'https' }, input)).toBe('https://example.com/a?q=1');
    expect(redirectLocation({ scheme: 'https', port: 8443 }, input)).toBe('https://example.com:8443/a?q=1');
    expect(redirectLocation({ hostname: 'other.org' }, { ...input, listenerPort: 80 })).toBe(
      'http://other.org/a?q=1',
    );
    expect(redirectLocation({ port: 443 }, input)).toBe('http://example.com:443/a?q=1');
  });
});

describe('header modifiers', () => {
  const modifier = {
    set: [{ name: 'X-Set', value: 'new' }],
    add: [
      { name: 'X-Add', value: 'two' },
      { name: 'X-New', value: 'v' },
    ],
    remove: ['X-Gone'],
  };
  it('request: set replaces every value, add appends, remove drops, names case-insensitive', () => {
    const raw = ['Host', 'h', 'x-set', 'old', 'X-SET', 'old2', 'x-add', 'one', 'x-gone', 'bye'];
    expect(modifyRawHeaders(raw, modifier)).toEqual([
      'Host',
      'h',
      'x-add',
      'one,two',
      'X-Set',
      'new',
      'X-New',
      'v',
    ]);
  });
  it('response: the same on a header object', () => {
    const headers: Record<string, string | string[]> = { 'x-set': 'old', 'x-add': 'one', 'x-gone': 'bye' };
    modifyHeaderObject(headers, modifier);
    expect(headers).toEqual({ 'x-set': 'new', 'x-add': 'one,two', 'x-new': 'v' });
  });
});
