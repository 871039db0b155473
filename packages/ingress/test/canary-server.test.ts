/**
 * Canary Ingresses through a running proxy, on the fast path (plain GET) and the Node path (a
 * chunked POST, which the fast path hands to Node's server): canary-by-header (always / never /
 * a value / a pattern), canary-by-cookie, canary-weight, ingress-nginx's order of precedence, a
 * canary without a main Ingress, and the compiled table and problems.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import { compileWithProblems, IngressServer, readIngressAnnotations } from '@portico/ingress';
import { ingress, ingressClass, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';
import { planeRequest, podOf, statusOf, type Plane } from './plane-request.js';

const nginx = (name: string) => `nginx.ingress.kubernetes.io/${name}`;

let stable: Echo;
let preview: Echo;
let server: IngressServer;
let httpPort = 0;
let httpsPort = 0;

/** The pod that answered one request on a fresh connection (or the status when none did). */
async function pod(host: string, plane: Plane, headers: Record<string, string> = {}): Promise<string> {
  const text = await planeRequest(httpPort, plane, host, '/', headers);
  return podOf(text) ?? `status ${statusOf(text)}`;
}

const main = (name: string, host: string) =>
  ingress(name, { rules: [rule(host, { path: '/', svc: 'stable' })] });
const canary = (name: string, host: string, settings: Record<string, string>) =>
  ingress(
    name,
    { rules: [rule(host, { path: '/', svc: 'preview' })] },
    {
      created: '2023-01-01T00:00:00Z', // older than its main Ingress: merged all the same
      annotations: Object.fromEntries(
        Object.entries({ canary: 'true', ...settings }).map(([k, v]) => [nginx(k), v]),
      ),
    },
  );

const INGRESSES = [
  main('by-header', 'h.test'),
  canary('by-header-canary', 'h.test', { 'canary-by-header': 'X-Canary', 'canary-by-cookie': 'beta' }),
  main('by-value', 'v.test'),
  canary('by-value-canary', 'v.test', { 'canary-by-header': 'X-Canary', 'canary-by-header-value': 'yes' }),
  main('by-pattern', 'p.test'),
  canary('by-pattern-canary', 'p.test', {
    'canary-by-header': 'X-Version',
    'canary-by-header-pattern': '^v2(\\.|$)',
  }),
  main('all', 'w.test'),
  canary('all-canary', 'w.test', { 'canary-weight': '100', 'canary-by-header': 'X-Canary' }),
  main('some', 's.test'),
  canary('some-canary', 's.test', { 'canary-weight': '30' }),
  canary('orphan', 'o.test', { 'canary-weight': '100' }),
];

beforeAll(async () => {
  stable = await startEcho('stable');
  preview = await startEcho('preview');
  server = new IngressServer({ host: '127.0.0.1', httpPort: 0, httpsPort: 0 });
  server.setTable(
    table([
      loopbackService('stable', [stable.port]),
      loopbackService('preview', [preview.port]),
      { ingresses: INGRESSES },
    ]),
  );
  ({ httpPort, httpsPort } = (await server.listen()) as { httpPort: number; httpsPort: number });
});

afterAll(async () => {
  await server?.close();
  await stopAll([stable, preview].filter(Boolean));
});

describe.each(['fast', 'node'] as const)('%s path', (plane) => {
  it('canary-by-header: always goes to the canary, never and other values do not', async () => {
    expect(await pod('h.test', plane)).toBe('stable');
    expect(await pod('h.test', plane, { 'X-Canary': 'always' })).toBe('preview');
    expect(await pod('h.test', plane, { 'x-canary': 'never' })).toBe('stable');
    expect(await pod('h.test', plane, { 'X-Canary': 'yes' })).toBe('stable');
  });

  it('canary-by-cookie: always / never, and the header goes first', async () => {
    expect(await pod('h.test', plane, { Cookie: 'a=1; beta=always' })).toBe('preview');
    expect(await pod('h.test', plane, { Cookie: 'beta=never' })).toBe('stable');
    // Header never wins over cookie always; an unknown header value falls through to the cookie.
    expect(await pod('h.test', plane, { 'X-Canary': 'never', Cookie: 'beta=always' })).toBe('stable');
    expect(await pod('h.test', plane, { 'X-Canary': 'maybe', Cookie: 'beta=always' })).toBe('preview');
  });

  it('canary-by-header-value: only that value; "always" is then just another value', async () => {
    expect(await pod('v.test', plane, { 'X-Canary': 'yes' })).toBe('preview');
    expect(await pod('v.test', plane, { 'X-Canary': 'always' })).toBe('stable');
  });

  it('canary-by-header-pattern matches a regular expression', async () => {
    expect(await pod('p.test', plane, { 'X-Version': 'v2.1' })).toBe('preview');
    expect(await pod('p.test', plane, { 'X-Version': 'v20' })).toBe('stable');
  });

  it('canary-weight 100 takes everything, unless the header says never', async () => {
    expect(await pod('w.test', plane)).toBe('preview');
    expect(await pod('w.test', plane, { 'X-Canary': 'never' })).toBe('stable');
  });

  it('a canary without a main Ingress serves nothing (404)', async () => {
    expect(await pod('o.test', plane)).toBe('status 404');
  });
});

it('over HTTP/2 (HTTPS, the Node path) the header and the cookie choose the canary too', async () => {
  const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { rejectUnauthorized: false });
  const ask = (headers: Record<string, string>): Promise<string> =>
    new Promise((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':authority': 'h.test', ...headers });
      let body = '';
      stream.on('data', (d: Buffer) => (body += d.toString()));
      stream.on('error', reject);
      stream.on('end', () => resolve(/"name":"(\w+)"/.exec(body)?.[1] ?? body));
    });
  try {
    expect(await ask({})).toBe('stable');
    expect(await ask({ 'x-canary': 'always' })).toBe('preview');
    expect(await ask({ cookie: 'beta=always' })).toBe('preview');
    expect(await ask({ 'x-canary': 'never', cookie: 'beta=always' })).toBe('stable');
  } finally {
    session.close();
  }
});

it('canary-weight 30 sends about 30 % of requests to the canary', async () => {
  let canaried = 0;
  const n = 300;
  for (let i = 0; i < n; i++) if ((await pod('s.test', i % 2 ? 'fast' : 'node')) === 'preview') canaried++;
  // Binomial(300, 0.3): mean 90, sd 7.9; 55..125 is beyond 4 sd either way.
  expect(canaried).toBeGreaterThan(55);
  expect(canaried).toBeLessThan(125);
}, 30_000);

describe('compiled', () => {
  const compiled = compileWithProblems({
    classes: [ingressClass('portico')],
    ingresses: INGRESSES,
    services: [],
    endpointSlices: [],
    secrets: [],
  });

  it('keeps the canary beside the main target, as plain data', () => {
    const host = compiled.table.hosts.find((h) => h.host === 'h.test')!;
    expect(host.prefix).toEqual([
      {
        path: '',
        target: {
          ingress: 'default/by-header',
          backend: 'default/stable:80',
          canary: {
            rule: { weight: 0, weightTotal: 100, header: 'x-canary', cookie: 'beta' },
            target: { ingress: 'default/by-header-canary', backend: 'default/preview:80' },
          },
        },
      },
    ]);
    expect(structuredClone(compiled.table)).toEqual(compiled.table);
  });

  it('reports a canary without a main Ingress', () => {
    expect(compiled.problems).toContainEqual(
      expect.objectContaining({
        name: 'orphan',
        reason: 'UnmatchedCanary',
        message: expect.stringContaining('has no main (non-canary) Ingress'),
      }),
    );
  });

  it('reports a second canary for the same path', () => {
    const twice = compileWithProblems({
      classes: [ingressClass('portico')],
      ingresses: [main('m', 'x.test'), canary('c1', 'x.test', {}), canary('c2', 'x.test', {})],
      services: [],
      endpointSlices: [],
      secrets: [],
    });
    expect(twice.problems).toContainEqual(
      expect.objectContaining({
        name: 'c2',
        reason: 'RuleConflict',
        message: expect.stringContaining('one canary per path'),
      }),
    );
  });
});

describe('the family', () => {
  it.each([
    [{ canary: 'true' }, { weight: 0, weightTotal: 100 }],
    [
      { canary: 'true', 'canary-weight': '5', 'canary-weight-total': '1000' },
      { weight: 5, weightTotal: 1000 },
    ],
    [
      { canary: 'true', 'canary-by-header': 'X-A', 'canary-by-header-value': 'on' },
      { weight: 0, weightTotal: 100, header: 'x-a', headerValue: 'on' },
    ],
    // The value wins over the pattern (ingress-nginx ignores the pattern then).
    [
      {
        canary: 'true',
        'canary-by-header': 'X-A',
        'canary-by-header-value': 'on',
        'canary-by-header-pattern': 'x',
      },
      { weight: 0, weightTotal: 100, header: 'x-a', headerValue: 'on' },
    ],
    [
      { canary: 'true', 'canary-by-cookie': 'c' },
      { weight: 0, weightTotal: 100, cookie: 'c' },
    ],
  ])('%j -> %j', (settings, rule) => {
    const read = readIngressAnnotations(
      Object.fromEntries(Object.entries(settings).map(([k, v]) => [nginx(k), v])),
    );
    expect(read.policy).toEqual({ canaryRule: rule });
    expect(read.bad).toEqual([]);
  });

  it.each([
    ['canary-weight', 'ten'],
    ['canary-weight', '-1'],
    ['canary-weight-total', '50'],
    ['canary-by-header', 'X-A;drop'],
    ['canary-by-header-pattern', '(unclosed'],
    ['canary-by-cookie', 'a=b'],
  ])('%s: %j is refused', (name, value) => {
    const read = readIngressAnnotations({ [nginx('canary')]: 'true', [nginx(name)]: value });
    expect(read.bad).toEqual([expect.objectContaining({ annotation: nginx(name), value })]);
  });

  it('canary settings without canary: "true" are refused, and the Ingress is no canary', () => {
    const read = readIngressAnnotations({ [nginx('canary-weight')]: '10' });
    expect(read.policy).toEqual({});
    expect(read.bad).toEqual([expect.objectContaining({ annotation: nginx('canary-weight'), value: '10' })]);
  });
});
