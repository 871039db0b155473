// Unit tests of the development API server's building blocks: strategic merge directives, JSON
// Patch and JSON Pointer corner cases, selector parsing, address allocation and the watch history.
import { describe, expect, it } from 'vitest';
import { IpAllocator } from '../src/ip-allocator.js';
import { applyJsonPatch } from '../src/json-patch.js';
import { applyMergePatch } from '../src/merge-patch.js';
import { PortAllocator } from '../src/port-allocator.js';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from '../src/selectors.js';
import { findResource } from '../src/resources.js';
import { rootType } from '../src/schema.js';
import { applyStrategicMergePatch } from '../src/strategic-merge.js';
import { WatchHub, type StoreEvent } from '../src/watch-hub.js';

const POD = rootType(findResource('', 'v1', 'pods')!);
const SERVICE = rootType(findResource('', 'v1', 'services')!);

describe('strategic merge patch', () => {
  const pod = {
    metadata: { finalizers: ['a', 'b'], labels: { x: '1' } },
    spec: {
      containers: [
        { name: 'one', image: 'i1', env: [{ name: 'A', value: '1' }] },
        { name: 'two', image: 'i2' },
      ],
      tolerations: [{ key: 't1' }],
    },
  };

  it('merges keyed lists recursively and replaces unkeyed ones', () => {
    const out = applyStrategicMergePatch(
      pod,
      {
        spec: {
          containers: [{ name: 'one', env: [{ name: 'B', value: '2' }] }],
          tolerations: [{ key: 't2' }],
        },
      },
      POD,
    ) as typeof pod;
    // As the real server orders them: the patch's new elements before those only the object had.
    expect(out.spec.containers[0]!.env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
    expect(out.spec.containers[0]!.image).toBe('i1');
    expect(out.spec.tolerations).toEqual([{ key: 't2' }]);
    expect(pod.spec.containers[0]!.env).toHaveLength(1);
  });

  it('merges finalizers as a set and deletes from primitive lists', () => {
    const out = applyStrategicMergePatch(
      pod,
      { metadata: { finalizers: ['b', 'c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      POD,
    ) as typeof pod;
    expect(out.metadata.finalizers).toEqual(['b', 'c']);
  });

  it('honours $patch replace and delete, $retainKeys and $setElementOrder', () => {
    const replaced = applyStrategicMergePatch(
      pod,
      { metadata: { labels: { $patch: 'replace', y: '2' } } },
      POD,
    ) as typeof pod;
    expect(replaced.metadata.labels).toEqual({ y: '2' });
    const deleted = applyStrategicMergePatch(
      pod,
      { metadata: { labels: { $patch: 'delete' } } },
      POD,
    ) as typeof pod;
    // `$patch: delete` on a map leaves it empty (what the real server then stores as no labels).
    expect(deleted.metadata.labels).toEqual({});
    const listReplaced = applyStrategicMergePatch(
      pod,
      { spec: { containers: [{ $patch: 'replace' }, { name: 'new' }] } },
      POD,
    ) as typeof pod;
    expect(listReplaced.spec.containers).toEqual([{ name: 'new' }]);
    const retained = applyStrategicMergePatch(
      pod,
      { spec: { $retainKeys: ['containers'], containers: [] } },
      POD,
    ) as typeof pod;
    expect(Object.keys(retained.spec)).toEqual(['containers']);
    const ordered = applyStrategicMergePatch(
      pod,
      { spec: { '$setElementOrder/containers': [{ name: 'two' }, { name: 'one' }] } },
      POD,
    ) as typeof pod;
    expect(ordered.spec.containers.map((c) => c.name)).toEqual(['two', 'one']);
  });

  it('merges Service ports by port and leaves status.loadBalancer.ingress atomic', () => {
    const svc = {
      spec: { ports: [{ port: 80, name: 'a' }] },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    };
    const out = applyStrategicMergePatch(
      svc,
      {
        spec: { ports: [{ port: 80, targetPort: 8080 }] },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } },
      },
      SERVICE,
    ) as typeof svc;
    expect(out.spec.ports).toEqual([{ port: 80, name: 'a', targetPort: 8080 }]);
    expect(out.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.2' }]);
  });
});

describe('merge patch (RFC 7386)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  ])('%j + %j = %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('escapes pointers, appends with -, moves and copies', () => {
    const doc = { 'a/b': { '~c': 1 }, list: [1, 2] };
    const out = applyJsonPatch(doc, [
      { op: 'replace', path: '/a~1b/~0c', value: 2 },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'move', from: '/list/3', path: '/moved' },
      { op: 'copy', from: '/moved', path: '/copied' },
      { op: 'test', path: '/copied', value: 3 },
    ]);
    expect(out).toEqual({ 'a/b': { '~c': 2 }, list: [0, 1, 2], moved: 3, copied: 3 });
    expect(doc.list).toEqual([1, 2]);
  });

  it('rejects bad paths and indices', () => {
    expect(() => applyJsonPatch({}, [{ op: 'remove', path: '/missing' }])).toThrow();
    expect(() => applyJsonPatch({ l: [] }, [{ op: 'add', path: '/l/5', value: 1 }])).toThrow();
    expect(() => applyJsonPatch({}, [{ op: 'replace', path: '/x', value: 1 }])).toThrow();
    expect(() => applyJsonPatch({}, [{ op: 'jump', path: '/x' }])).toThrow();
  });
});

describe('selectors', () => {
  it('parses set-based, equality and numeric requirements', () => {
    const s = parseLabelSelector('env in (prod, staging),!canary,tier!=db,replicas>2');
    expect(matchesLabels(s, { env: 'prod', tier: 'web', replicas: '3' })).toBe(true);
    expect(matchesLabels(s, { env: 'prod', tier: 'web', replicas: '2' })).toBe(false);
    expect(matchesLabels(s, { env: 'prod', tier: 'web', replicas: '3', canary: '' })).toBe(false);
    expect(matchesLabels(s, { env: 'dev', replicas: '9' })).toBe(false);
    expect(matchesLabels(parseLabelSelector('a='), { a: '' })).toBe(true);
    expect(matchesLabels(parseLabelSelector('example.com/a==b'), { 'example.com/a': 'b' })).toBe(true);
  });

  it.each(['a in b', 'a in (b', 'a,', '=b', 'a>b', 'a b', 'UPPER.case/x=1'])('rejects %j', (text) => {
    expect(() => parseLabelSelector(text)).toThrow();
  });

  it('field selectors unescape values and check the field', () => {
    expect(parseFieldSelector('metadata.name=a\\,b')).toEqual([
      { field: 'metadata.name', equal: true, value: 'a,b' },
    ]);
    // A kind with its own field labels, and one with the default (metadata.name and namespace).
    expect(() => parseFieldSelector('spec.x=1', ['metadata.name'])).toThrow(
      /field label not supported: spec.x/,
    );
    expect(() => parseFieldSelector('spec.x=1')).toThrow(/"spec.x" is not a known field selector/);
    expect(() => parseFieldSelector('nonsense')).toThrow(/can't understand 'nonsense'/);
    expect(() => parseFieldSelector('metadata.name=a=b')).toThrow(/unescaped character in value: 61/);
  });
});

describe('allocators', () => {
  it('never hands out the network or IPv4 broadcast address and reports exhaustion', () => {
    const v4 = new IpAllocator('192.0.2.0/30');
    expect([v4.allocateNext(), v4.allocateNext(), v4.allocateNext()]).toEqual([
      '192.0.2.1',
      '192.0.2.2',
      undefined,
    ]);
    expect(v4.allocate('192.0.2.3')).toMatch(/does not match the current range/);
    v4.release('192.0.2.1');
    expect(v4.allocateNext()).toBe('192.0.2.1');
    const v6 = new IpAllocator('2001:db8::/126');
    expect([v6.allocateNext(), v6.allocateNext(), v6.allocateNext(), v6.allocateNext()]).toEqual([
      '2001:db8::1',
      '2001:db8::2',
      '2001:db8::3',
      undefined,
    ]);
  });

  it('allocates dynamically above the static band first (KEP-3070, KEP-3668)', () => {
    const v4 = new IpAllocator('10.96.0.0/16');
    expect(v4.allocateNext()).toBe('10.96.1.0');
    expect(v4.allocate('10.96.0.10')).toBeUndefined();
    const ports = new PortAllocator(30000, 32767);
    expect(ports.allocateNext()).toBe(30086);
    expect(ports.allocate(30000)).toBeUndefined();
  });

  it('node ports: range, duplicates, release', () => {
    const ports = new PortAllocator(30000, 30001);
    expect(ports.allocate(29999)).toMatch(/valid range/);
    expect(ports.allocate(30001)).toBeUndefined();
    expect(ports.allocate(30001)).toMatch(/already allocated/);
    expect(ports.allocateNext()).toBe(30000);
    expect(ports.allocateNext()).toBeUndefined();
    ports.release(30000);
    expect(ports.allocateNext()).toBe(30000);
  });
});

describe('watch history', () => {
  const event = (rv: number): StoreEvent => ({
    resourceVersion: rv,
    type: 'ADDED',
    collection: '/configmaps',
    object: { metadata: { name: `o${rv}`, resourceVersion: String(rv) } },
  });

  it('keeps the last N events, finds those after a version, and expires older versions', () => {
    const hub = new WatchHub(3);
    for (let rv = 1; rv <= 5; rv++) hub.publish(event(rv));
    expect(hub.since(2).map((e) => e.resourceVersion)).toEqual([3, 4, 5]);
    expect(hub.since(4).map((e) => e.resourceVersion)).toEqual([5]);
    expect(hub.since(5)).toEqual([]);
    expect(() => hub.since(1)).toThrow(/too old resource version: 1 \(3\)/);
  });

  it('delivers to subscribers until they unsubscribe', () => {
    const hub = new WatchHub(10);
    const seen: number[] = [];
    const stop = hub.subscribe((e) => seen.push(e.resourceVersion));
    hub.publish(event(1));
    stop();
    hub.publish(event(2));
    expect(seen).toEqual([1]);
    expect(hub.subscriberCount).toBe(0);
  });
});
