/**
 * Runs one case against one proxy (clients, then a fresh client, then a clean slate for the
 * pods), and compares Portico's outcome with nginx's.
 */
import { runClient, type ClientResult, type Endpoint } from './client.js';
import type { Case, ClientSpec, Outcome } from './case.js';
import type { Proxy } from './harness.js';
import { defaultScript, marker, type PodRequest } from './pods.js';
import { POD_NAMES } from './routes.js';
import { methodsIn, normalizePath, parseResponses } from './wire.js';

let freshCounter = 0;

/** Every request the client sent has its final response (the default end of a client). */
let methodsCache: { sent: string; methods: string[] } = { sent: '', methods: [] };
function answeredAll(received: string, sent: string): boolean {
  if (methodsCache.sent !== sent) methodsCache = { sent, methods: methodsIn(sent) };
  const methods = methodsCache.methods;
  // Cheap first: there cannot be enough responses with fewer status lines than requests.
  let lines = 0;
  for (
    let i = received.indexOf('HTTP/1.');
    i >= 0 && lines < methods.length;
    i = received.indexOf('HTTP/1.', i + 1)
  )
    lines++;
  if (lines < methods.length) return false;
  const p = parseResponses(Buffer.from(received, 'latin1'), methods, false);
  return !p.error && p.responses.filter((r) => r.status >= 200).length >= methods.length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function endpointOf(proxy: Proxy, tls: boolean, servername?: string): Endpoint {
  return { port: tls ? proxy.httpsPort : proxy.httpPort, tls, servername };
}

async function settle(proxy: Proxy, quietMs = 60, maxMs = 1_500): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const last = Math.max(...POD_NAMES.map((n) => proxy.pods[n].lastActivity));
    if (Date.now() - last >= quietMs || Date.now() - t0 > maxMs) return;
    await sleep(20);
  }
}

/** A new client after the case: one request, one answer, its own, from the right pod. */
async function freshCheck(proxy: Proxy): Promise<string | undefined> {
  const path = `/public/fresh-${++freshCounter}`;
  const want = marker('public', 'GET', path);
  const r = await runClient(
    endpointOf(proxy, false),
    [`GET ${path} HTTP/1.1\r\nHost: app.example\r\nUser-Agent: fresh\r\n\r\n`],
    { quietMs: 2_000, maxMs: 3_000, until: (t) => t.endsWith(want) },
  );
  const parsed = parseResponses(r.received, ['GET'], r.closed);
  const text = JSON.stringify(r.received.toString('latin1').slice(0, 300));
  if (parsed.responses.length !== 1 || parsed.error)
    return `fresh client got ${parsed.responses.length} responses${parsed.error ? ` (${parsed.error})` : ''}: ${text}`;
  const res = parsed.responses[0]!;
  if (res.status !== 200 || res.body.toString('latin1') !== want) return `fresh client got ${text}`;
  const seen = proxy.pods.public.requests.filter((q) => q.target === path);
  if (seen.length !== 1) return `the pod received the fresh request ${seen.length} times`;
  return undefined;
}

export async function runCase(proxy: Proxy, c: Case): Promise<Outcome> {
  // What an earlier case left in flight (a flood still draining) must not count for this one.
  await settle(proxy, 100, 8_000);
  for (const n of POD_NAMES) {
    const pod = proxy.pods[n];
    pod.reset();
    if (c.pod) pod.script = c.pod;
    pod.answerOnHead = c.answerOnHead ?? false;
  }
  const results: ClientResult[] = [];
  const parsedMethods: (string[] | undefined)[] = [];
  if (c.run) {
    const r = await c.run({ proxy, endpoint: (tls, sn) => endpointOf(proxy, tls, sn) });
    results.push(...r);
    r.forEach(() => parsedMethods.push(undefined));
  } else {
    const specs: ClientSpec[] = c.clients ?? [{ steps: c.send ?? [] }];
    let running: Promise<ClientResult>[] = [];
    for (const spec of specs) {
      if (!spec.concurrent && spec.startAfterMs === undefined && running.length) {
        results.push(...(await Promise.all(running)));
        running = [];
      }
      if (spec.startAfterMs !== undefined) await sleep(spec.startAfterMs);
      const steps = typeof spec.steps === 'string' ? [spec.steps] : spec.steps;
      const ep = endpointOf(proxy, spec.tls ?? c.tls ?? false, spec.servername);
      running.push(runClient(ep, steps, { until: answeredAll, ...c.options, ...spec.options }));
      parsedMethods.push([]);
    }
    results.push(...(await Promise.all(running)));
  }
  await settle(proxy);
  // A pod connection left with an unfinished request gets a moment to be closed by the proxy.
  for (
    let t = 0;
    t < 25 && POD_NAMES.some((n) => proxy.pods[n].conns.some((k) => k.incomplete && !k.closed));
    t++
  )
    await sleep(20);
  const requests: PodRequest[] = POD_NAMES.flatMap((n) => proxy.pods[n].requests);
  const conns = POD_NAMES.flatMap((n) => proxy.pods[n].conns.map((k) => ({ ...k })));
  const parsed = results.map((r, i) =>
    parsedMethods[i] ? parseResponses(r.received, methodsIn(r.sent), r.closed) : undefined,
  );
  for (const n of POD_NAMES) {
    proxy.pods[n].script = defaultScript;
    proxy.pods[n].answerOnHead = false;
  }
  let crashed = !proxy.alive();
  let fresh: string | undefined;
  if (!crashed) {
    fresh = await freshCheck(proxy);
    crashed = !proxy.alive();
  }
  if (crashed) {
    fresh = `the proxy process died: ${proxy.stderr().slice(-1_500)}`;
    await proxy.revive();
  }
  for (const n of POD_NAMES) proxy.pods[n].reset();
  // Let the proxies notice the closed pod connections before the next case.
  await sleep(30);
  return { proxy: proxy.name, clients: results, parsed, requests, conns, fresh, crashed };
}

/** How a request is compared across the proxies: where it went and what a pod would serve. */
export function requestKey(r: PodRequest): string {
  const host = (r.fields.find(([k]) => k.toLowerCase() === 'host')?.[1] ?? '')
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/\.$/, '');
  const body = r.body.length > 64 ? `${r.body.length}B` : JSON.stringify(r.body.toString('latin1'));
  const anomalies = r.anomalies.length ? ` !${r.anomalies.join(',')}` : '';
  return `${r.pod} ${r.method} ${normalizePath(r.target)} host=${host} body=${body}${anomalies}`;
}

/** Everything that makes the case fail for Portico. */
export function compare(c: Case, ours: Outcome, nginx: Outcome): string[] {
  const problems: string[] = [];
  if (ours.crashed) problems.push('the Portico process died');
  if (ours.fresh) problems.push(`afterwards: ${ours.fresh}`);
  if (nginx.fresh && !c.referenceMayFail) problems.push(`(reference) nginx afterwards: ${nginx.fresh}`);
  const theirs = new Map<string, number>();
  for (const r of nginx.requests) theirs.set(requestKey(r), (theirs.get(requestKey(r)) ?? 0) + 1);
  const extra: string[] = [];
  for (const r of ours.requests) {
    const k = requestKey(r);
    const n = theirs.get(k) ?? 0;
    if (n > 0) theirs.set(k, n - 1);
    else extra.push(`${k} (raw ${JSON.stringify(r.raw.toString('latin1').slice(0, 300))})`);
  }
  for (const conn of ours.conns)
    if (conn.garbage && !nginx.conns.some((k) => k.garbage))
      extra.push(`unparseable bytes at pod ${conn.pod}: ${conn.garbage}`);
  if (extra.length && !c.why) {
    problems.push(...extra.slice(0, 8).map((e) => `pod received what nginx did not forward: ${e}`));
    if (extra.length > 8) problems.push(`... and ${extra.length - 8} more requests nginx did not forward`);
  }
  ours.parsed.forEach((p, i) => {
    if (!p) return;
    const client = ours.clients[i]!;
    const sentRequests = methodsIn(client.sent).length;
    const got = p.responses.filter((r) => r.status >= 200).length;
    const theirs = nginx.parsed[i];
    // Cut short (the proxy closed mid-body) or still streaming a body that ends at close: not garbage.
    const truncated =
      p.error !== undefined &&
      ((client.closed && /incomplete/.test(p.error)) || /close-delimited/.test(p.error));
    if (p.error && !truncated && !(theirs?.error && !/incomplete/.test(theirs.error)) && !c.why)
      problems.push(
        `client ${i} got bytes that are no HTTP/1.1 response (${p.error}): ${JSON.stringify(p.rest.toString('latin1').slice(0, 200))}`,
      );
    if (got > Math.max(sentRequests, 1) && !c.why)
      problems.push(`client ${i} sent ${sentRequests} requests and got ${got} responses`);
  });
  // No client may get a pod's answer to a request it did not send (someone else's, or one the
  // proxy made up): every answer names its request, compared by normalised path.
  const foreign = (o: Outcome, i: number): string[] => {
    const client = o.clients[i];
    if (!client?.sent) return [];
    const own = new Set(
      client.sent
        .split(/[\s]+/)
        .filter((t) => t.startsWith('/') || /^https?:/i.test(t))
        .map(normalizePath),
    );
    return [...client.received.toString('latin1').matchAll(/<<\w+ \S+ (\S+)>>/g)]
      .map((m) => m[1]!)
      .filter((t) => !own.has(normalizePath(t)));
  };
  ours.clients.forEach((_c, i) => {
    const got = foreign(ours, i);
    if (got.length && foreign(nginx, i).length === 0 && !c.why)
      problems.push(`client ${i} got answers to requests it did not send: ${got.join(', ')}`);
  });
  if (c.check) {
    const r = c.check(ours, nginx);
    if (typeof r === 'string') problems.push(r);
    else if (Array.isArray(r)) problems.push(...r);
  }
  return problems;
}

/** A short account of an outcome for failure messages and FINDINGS.md. */
export function describeOutcome(o: Outcome): string {
  const clients = o.clients
    .map(
      (c, i) =>
        `client ${i}: ${JSON.stringify(c.received.toString('latin1').slice(0, 400))}${c.closed ? ' [closed]' : ''}`,
    )
    .join('\n    ');
  const pods = o.requests
    .slice(0, 12)
    .map((r) => `${r.pod}#${r.conn}: ${JSON.stringify(r.raw.toString('latin1').slice(0, 300))}`)
    .join('\n    ');
  const garbage = o.conns.filter((k) => k.garbage).map((k) => `${k.pod}#${k.conn} garbage: ${k.garbage}`);
  const incomplete = o.conns
    .filter((k) => k.incomplete)
    .map(
      (k) =>
        `${k.pod}#${k.conn} unfinished ${k.incomplete!.method} ${k.incomplete!.target}${k.closed ? ' (closed)' : ' (left open)'}`,
    );
  return [
    `  ${o.proxy}:`,
    `    ${clients}`,
    `    pods: ${pods || '(nothing)'}`,
    ...garbage.map((g) => `    ${g}`),
    ...incomplete.map((g) => `    ${g}`),
  ].join('\n');
}
