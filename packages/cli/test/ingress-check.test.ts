/**
 * `portico ingress check`, end to end: the built CLI on files, a directory and standard input,
 * human text and `--output json`, exit codes 0 (nothing to report), 1 (problems) and 2 (usage).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = join(root, 'node_modules/.bin/node');
const portico = join(root, 'node_modules/.bin/portico');
let dir: string;

function run(args: string[], input?: string) {
  const result = spawnSync(node, [portico, 'ingress', 'check', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    input,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const clean = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/permanent-redirect: https://new.example.com/
spec:
  ingressClassName: portico
  rules:
  - host: old.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
`;

const troubled = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
    nginx.ingress.kubernetes.io/server-snippet: "return 200;"
    nginx.ingress.kubernetes.io/proxy-buffering: "on"
    nginx.ingress.kubernetes.io/enable-cors: "maybe"
    nginx.ingress.kubernetes.io/server-alias: old.example.com
spec:
  ingressClassName: nginx
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: "/v1(/|$)(.*)", pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}
      - {path: "/(a+)+", pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'portico-ingress-check-'));
  writeFileSync(join(dir, 'clean.yaml'), clean);
  mkdirSync(join(dir, 'all'));
  writeFileSync(join(dir, 'all', '1-clean.yaml'), clean);
  writeFileSync(join(dir, 'all', '2-troubled.yml'), troubled);
  writeFileSync(join(dir, 'all', 'notes.txt'), 'not read');
  writeFileSync(join(dir, 'broken.yaml'), 'kind: Ingress\nmetadata: {name: [unclosed\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('portico ingress check', () => {
  it('an Ingress Portico serves as written: what it will do, exit 0', () => {
    const r = run([join(dir, 'clean.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Ingress shop/web (${join(dir, 'clean.yaml')} document 1)`);
    expect(r.stdout).toContain('  old.example.com / (Prefix) -> shop/web:80');
    expect(r.stdout).toContain('  redirectTo: {"url":"https://new.example.com/","code":301}');
    expect(r.stdout).not.toContain('class:');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 Ingress, 0 problems');
  });

  it('a directory: every annotation not honoured is listed per Ingress, exit 1', () => {
    const r = run([join(dir, 'all')]);
    expect(r.code).toBe(1);
    const block = r.stdout.slice(r.stdout.indexOf('Ingress default/api'));
    expect(block).toContain('  class: "nginx"; Portico serves class "portico" unless told otherwise');
    expect(block).toContain('  api.example.com /v1(/|$)(.*) (Regex) -> default/api:80');
    expect(block).toMatch(/not honoured \(RefusedAnnotation\): .*server-snippet/);
    expect(block).toMatch(/not honoured \(UnknownAnnotation\): .*proxy-buffering/);
    expect(block).toMatch(/not honoured \(InvalidAnnotation\): .*enable-cors.*"maybe" is not a boolean/);
    expect(block).toMatch(/not honoured \(InvalidPath\): .*"\/\(a\+\)\+".*catastrophic/);
    // The alias names the other file's host: a conflict between the manifests given.
    expect(block).toMatch(
      /not honoured \(RuleConflict\): .*server-alias "old\.example\.com" is already a host/,
    );
    expect(r.stdout).not.toContain('notes.txt');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('2 Ingresses, 5 problems');
  });

  it('--output json, from standard input', () => {
    const r = run(['--output', 'json', '-'], troubled);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.inputProblems).toEqual([]);
    expect(out.ingresses).toHaveLength(1);
    const [api] = out.ingresses;
    expect(api).toMatchObject({
      ingress: 'default/api',
      source: 'standard input document 1',
      ingressClass: 'nginx',
      aliases: ['old.example.com'],
      policy: { rewriteTarget: '/$2', useRegex: true },
    });
    expect(api.paths).toEqual([
      { host: 'api.example.com', path: '/v1(/|$)(.*)', match: 'Regex', backend: 'default/api:80' },
    ]);
    expect(api.problems.map((p: { reason: string }) => p.reason)).toEqual([
      'InvalidAnnotation',
      'RefusedAnnotation',
      'UnknownAnnotation',
      'InvalidPath',
    ]);
  });

  it('--json is --output json (as for portico config check)', () => {
    const r = run(['--json', join(dir, 'clean.yaml')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).ingresses[0].ingress).toBe('shop/web');
  });

  it('a document that is not YAML is a problem of the input (exit 1), the others are checked', () => {
    const r = run([join(dir, 'broken.yaml'), join(dir, 'clean.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^input: .*broken\.yaml document 1: /m);
    expect(r.stdout).toContain('Ingress shop/web');
  });

  it.each([
    [[], /missing FILE/],
    [['--output', 'yaml', 'x.yaml'], /--output must be text or json, not "yaml"/],
    [['--frobnicate', 'x.yaml'], /unknown option --frobnicate/],
    [['/nonexistent/ingress.yaml'], /cannot read \/nonexistent\/ingress\.yaml/],
  ])('usage error %j: exit 2', (args, message) => {
    const r = run(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stdout).toBe('');
  });
});
