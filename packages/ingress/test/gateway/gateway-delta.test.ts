// What the primary sends the workers for the Gateway side: the whole table once, then deltas (the
// changed hostname lists of a listener, listener heads, backends), which a worker's state turns
// back into the same listeners, hostname index included.
import { serialize, deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayCompiler,
  GatewayTableState,
  hostIndex,
  matchRoute,
  type GatewayClusterState,
  type GatewayCompiled,
  type GatewayDelta,
  type GatewayTable,
  type HTTPRoute,
} from '../../src/gateway/index.js';
import { service, slice } from '../fixtures.js';

const NOW = Date.UTC(2026, 0, 1);
const SERVICES = [service('a'), service('b')];
const SLICES = [slice('a', 3000, ['10.0.0.1']), slice('b', 3000, ['10.0.0.2'])];
const CLASSES = [{ metadata: { name: 'portico' }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } }];

function route(i: number, svc = 'a', generation = 1, host = `h${i % 100}.example.com`): HTTPRoute {
  return {
    metadata: {
      namespace: 'default',
      name: `r${i}`,
      generation,
      creationTimestamp: new Date(NOW + i * 1000).toISOString(),
    },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: [host],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: `/p${i}` } }],
          backendRefs: [{ name: svc, port: 80 }],
        },
      ],
    },
  };
}

function gateway(hostname?: string, generation = 1): GatewayClusterState['gateways'][number] {
  return {
    metadata: { namespace: 'default', name: 'gw', generation },
    spec: {
      gatewayClassName: 'portico',
      listeners: [{ name: 'http', port: 80, protocol: 'HTTP', ...(hostname ? { hostname } : {}) }],
    },
  };
}

const GATEWAY = gateway();

function state(httpRoutes: HTTPRoute[], gateways = [GATEWAY]): GatewayClusterState {
  return {
    gatewayClasses: CLASSES,
    gateways,
    httpRoutes,
    referenceGrants: [],
    namespaces: [],
    services: SERVICES,
    endpointSlices: SLICES,
    secrets: [],
  };
}

let version = 0;
function table(compiled: GatewayCompiled): GatewayTable {
  return { version: ++version, listeners: compiled.listeners, backends: backendEntries(compiled) };
}

/** Through the IPC channel's encoding, as a worker receives it. */
function sent(delta: GatewayDelta): GatewayDelta {
  return deserialize(serialize(delta)) as GatewayDelta;
}

/** What a worker serves: listeners as plain data with their hostname index, and the backends. */
function served(t: GatewayTable) {
  return {
    listeners: t.listeners.map((l) => ({ ...l, index: Object.fromEntries(hostIndex(l)) })),
    backends: [...t.backends].sort((a, b) => a.key.localeCompare(b.key)),
  };
}

const request = (host: string, path: string) => ({ host, path, method: 'GET', headers: {}, query: '' });

describe('Gateway table deltas to the workers', () => {
  const routes = Array.from({ length: 1000 }, (_, i) => route(i));

  it('a route change reaches the workers as one hostname list, and they serve it', () => {
    const compiler = new GatewayCompiler();
    const primary = new GatewayTableState();
    const worker = new GatewayTableState();
    const t1 = table(compiler.compile(state(routes)).compiled);
    const full = serialize(primary.advance(t1));
    const w1 = worker.apply(deserialize(full) as GatewayDelta);
    expect(served(w1)).toEqual(served(t1));

    const changed = [...routes];
    changed[42] = route(42, 'b', 2);
    const t2 = table(compiler.compile(state(changed)).compiled);
    const delta = primary.advance(t2);
    expect(delta.heads).toEqual([]);
    expect(delta.hosts.map((h) => [h.listener, h.host])).toEqual([['default/gw/http', 'h42.example.com']]);
    expect(delta.hosts[0]!.entries).toHaveLength(10);
    expect(delta.backends.changed.map((b) => b.key)).toEqual(['default/b:80']);
    expect(delta.backends.removed).toEqual([]);
    const bytes = serialize(delta).length;
    expect(bytes * 50).toBeLessThan(full.length);

    const w2 = worker.apply(sent(delta));
    expect(served(w2)).toEqual(served(t2));
    const hit = matchRoute(w2.listeners[0]!, request('h42.example.com', '/p42/x'));
    expect(hit?.rule.backends[0]!.backend).toBe('default/b:80');
    // The hostname lists the delta did not name are the worker's same objects as before.
    expect(hostIndex(w2.listeners[0]!).get('h43.example.com')).toBe(
      hostIndex(w1.listeners[0]!).get('h43.example.com'),
    );
    // The listener served until now keeps its own index (requests in flight read it).
    expect(
      matchRoute(w1.listeners[0]!, request('h42.example.com', '/p42/x'))?.rule.backends[0]!.backend,
    ).toBe('default/a:80');
  });

  it('nothing changed: an empty delta', () => {
    const compiler = new GatewayCompiler();
    const primary = new GatewayTableState();
    primary.advance(table(compiler.compile(state(routes)).compiled));
    const delta = primary.advance(table(compiler.compile(state(routes)).compiled));
    expect(delta.heads).toEqual([]);
    expect(delta.hosts).toEqual([]);
    expect(delta.backends).toEqual({ changed: [], removed: [] });
  });

  it('hostnames that go, a listener head that changes, a listener that goes, a backend that goes', () => {
    const compiler = new GatewayCompiler();
    const primary = new GatewayTableState();
    const worker = new GatewayTableState();
    const few = [route(1, 'a'), route(2, 'b', 1, 'x.example.com')];
    worker.apply(sent(primary.advance(table(compiler.compile(state(few)).compiled))));

    // r2 gone: its hostname's list and backend b go with it.
    const t2 = table(compiler.compile(state(few.slice(0, 1))).compiled);
    const d2 = primary.advance(t2);
    expect(d2.hosts).toEqual([{ listener: 'default/gw/http', host: 'x.example.com', entries: null }]);
    expect(d2.backends.removed).toEqual(['default/b:80']);
    expect(served(worker.apply(sent(d2)))).toEqual(served(t2));

    // The listener's hostname changes: a new head (r1's hostname no longer intersects: no routes).
    const t3 = table(compiler.compile(state(few.slice(0, 1), [gateway('*.other.org', 2)])).compiled);
    const d3 = primary.advance(t3);
    expect(d3.heads.map((h) => h.hostname)).toEqual(['*.other.org']);
    expect(served(worker.apply(sent(d3)))).toEqual(served(t3));

    // No Gateway: no listener.
    const t4 = table(compiler.compile(state(few.slice(0, 1), [])).compiled);
    const d4 = primary.advance(t4);
    expect(d4.listeners).toEqual([]);
    expect(worker.apply(sent(d4)).listeners).toEqual([]);
  });

  it('tables compiled whole each time give the same small deltas, by value', () => {
    const primary = new GatewayTableState();
    const worker = new GatewayTableState();
    worker.apply(sent(primary.advance(table(compileGateways(state(routes))))));
    const changed = [...routes];
    changed[7] = route(7, 'b', 2);
    const t2 = table(compileGateways(state(changed)));
    const delta = primary.advance(t2);
    expect(delta.hosts.map((h) => h.host)).toEqual(['h7.example.com']);
    expect(served(worker.apply(sent(delta)))).toEqual(served(t2));
  });

  it('a worker that starts late gets everything the others hold', () => {
    const compiler = new GatewayCompiler();
    const primary = new GatewayTableState();
    primary.advance(table(compiler.compile(state(routes)).compiled));
    const changed = [...routes];
    changed[3] = route(3, 'b', 2);
    const t2 = table(compiler.compile(state(changed)).compiled);
    primary.advance(t2);
    const late = new GatewayTableState();
    expect(served(late.apply(sent(primary.full())))).toEqual(served(t2));
  });
});
