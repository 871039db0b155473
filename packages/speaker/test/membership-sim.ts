/**
 * A simulated cluster of speakers for the model check and the membership unit tests: virtual
 * time, one clock per node (its own rate within ±drift and its own origin), timers that fire late
 * by up to `lateness` (scheduling delay), and a network whose every directed link can be cut, and
 * whose datagrams are lost, delayed and reordered at random. Each node runs the real membership
 * code (FailureDetector, Layer2Ownership) and the real decision (decide() with the election),
 * exactly as the Speaker wires them; only the Kubernetes informers and the announcer are replaced
 * (the answering set IS what the Speaker hands the announcer).
 *
 * Deterministic for a given random source, so fast-check can shrink a failing schedule.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Config } from '@portico/config';
import { decide } from '../src/decide.js';
import type { Clock } from '../src/membership/clock.js';
import { FailureDetector, type Member } from '../src/membership/detector.js';
import { Layer2Ownership } from '../src/membership/ownership.js';
import type { Transport } from '../src/membership/udp-transport.js';
import { config, node as nodeObject, service, slice } from './fixtures.js';

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Event {
  at: number;
  order: number;
  fn: () => void;
}

/** A binary heap of events by time, then by insertion order. */
class Queue {
  private readonly heap: Event[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): Event | undefined {
    return this.heap[0];
  }
  push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Event, b: Event) => a.at < b.at || (a.at === b.at && a.order < b.order);

export interface WorldOptions {
  seed: number;
  /** Maximum clock rate error (0.01: each node's clock runs between 0.99 and 1.01 of real time). */
  drift?: number;
  /** Maximum lateness of a timer (scheduling delay), ms. */
  lateness?: number;
}

/** The network and the clocks. Node names double as addresses. */
export class SimWorld {
  time = 0;
  readonly rng: () => number;
  private readonly queue = new Queue();
  private order = 0;
  /** Directed links that drop everything: `from>to`. */
  private readonly cut = new Set<string>();
  /** Probability that a datagram is lost. */
  loss = 0;
  /** Datagram delay range, ms (uniform; independent per datagram, so they reorder). */
  delay: [number, number] = [0.05, 1];
  readonly drift: number;
  lateness: number;
  private readonly inboxes = new Map<string, Array<(data: Buffer) => void>>();
  /** Per node: a generation bumped on every crash, so the dead process's timers do nothing. */
  private readonly generation = new Map<string, number>();
  /** Per node: the end of a stall (GC pause, CPU starvation) during which it runs nothing. */
  private readonly stalledUntil = new Map<string, number>();
  /** Per node: what came due while it was stalled (timers, then datagrams), run when it wakes. */
  private readonly queuedWork = new Map<string, { timers: Array<() => void>; io: Array<() => void> }>();
  delivered = 0;
  dropped = 0;

  constructor(options: WorldOptions) {
    this.rng = prng(options.seed);
    this.drift = options.drift ?? 0;
    this.lateness = options.lateness ?? 0;
  }

  at(time: number, fn: () => void): void {
    this.queue.push({ at: Math.max(time, this.time), order: this.order++, fn });
  }

  /** Runs events until `until` (virtual ms); `check` after each one. */
  run(until: number, check?: () => void): void {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > until) break;
      this.queue.pop();
      this.time = next.at;
      next.fn();
      check?.();
    }
    this.time = until;
  }

  private late(): number {
    return this.lateness > 0 ? this.rng() * this.lateness : 0;
  }

  /** A new clock for a process on `node` (its rate drawn within ±drift, its origin arbitrary). */
  clock(node: string): Clock {
    const gen = this.generation.get(node) ?? 0;
    const rate = 1 + (this.rng() * 2 - 1) * this.drift;
    const origin = 1000 + this.rng() * 1e6;
    const start = this.time;
    const live = () => (this.generation.get(node) ?? 0) === gen;
    const now = () => origin + (this.time - start) * rate;
    return {
      now,
      after: (ms, fn) => {
        let on = true;
        this.at(this.time + Math.max(0, ms) / rate + this.late(), () =>
          this.onNode(node, false, () => {
            if (on && live()) fn();
          }),
        );
        return () => (on = false);
      },
      every: (ms, fn) => {
        let on = true;
        const loop = () =>
          this.onNode(node, false, () => {
            if (!on || !live()) return;
            fn();
            this.at(this.time + ms / rate + this.late(), loop);
          });
        this.at(this.time + ms / rate + this.late(), loop);
        return () => (on = false);
      },
    };
  }

  /** The heartbeat socket of a process on `node`. */
  transport(node: string): Transport {
    const gen = this.generation.get(node) ?? 0;
    const live = () => (this.generation.get(node) ?? 0) === gen;
    const handlers: Array<(data: Buffer) => void> = [];
    this.inboxes.set(node, handlers);
    return {
      send: (data, address) => {
        if (!live()) return;
        if (this.cut.has(`${node}>${address}`) || (this.loss > 0 && this.rng() < this.loss)) {
          this.dropped++;
          return;
        }
        const copy = Buffer.from(data);
        const [lo, hi] = this.delay;
        this.at(this.time + lo + this.rng() * (hi - lo), () => {
          // The link may have been cut while the datagram was on its way: it is delivered anyway
          // (it left before the cut), which is the harder case.
          this.onNode(address, true, () => {
            const inbox = this.inboxes.get(address);
            if (!inbox) return;
            this.delivered++;
            for (const h of inbox) h(copy);
          });
        });
      },
      onMessage: (h) => handlers.push(h),
      close: async () => undefined,
    };
  }

  /**
   * Runs `fn` for a node now, or when its stall ends: then, as in Node's event loop, the timers
   * that came due run first and the datagrams queued meanwhile after them. The work waits in a
   * queue of the node (not at the stall's end time), so a stall that is extended keeps it waiting
   * and a stall that ends early (endStalls) releases it at once: a process either runs everything
   * or nothing, never its datagrams without its timers.
   */
  private onNode(node: string, io: boolean, fn: () => void): void {
    if (!this.isStalled(node)) return fn();
    let queued = this.queuedWork.get(node);
    if (!queued) {
      this.queuedWork.set(node, (queued = { timers: [], io: [] }));
      this.at(this.stalledUntil.get(node)!, () => this.wake(node));
    }
    (io ? queued.io : queued.timers).push(fn);
  }

  /** The end of a stall: the work queued meanwhile runs, timers first. */
  private wake(node: string): void {
    const queued = this.queuedWork.get(node);
    if (!queued) return;
    if (this.isStalled(node)) {
      this.at(this.stalledUntil.get(node)!, () => this.wake(node)); // extended meanwhile
      return;
    }
    this.queuedWork.delete(node);
    for (const fn of queued.timers) fn();
    for (const fn of queued.io) fn();
  }

  /** The process on `node` runs nothing for `ms` (a GC pause, CPU starvation). */
  stall(node: string, ms: number): void {
    this.stalledUntil.set(node, Math.max(this.stalledUntil.get(node) ?? -Infinity, this.time + ms));
  }

  /** Every stall ends now (the queued work runs as it would on waking). */
  endStalls(): void {
    for (const node of this.stalledUntil.keys()) {
      this.stalledUntil.set(node, this.time);
      this.at(this.time, () => this.wake(node));
    }
  }

  isStalled(node: string): boolean {
    return this.time < (this.stalledUntil.get(node) ?? -Infinity);
  }

  /** The process on `node` dies: its timers stop, its socket is gone. */
  crash(node: string): void {
    this.generation.set(node, (this.generation.get(node) ?? 0) + 1);
    this.stalledUntil.delete(node); // the stall was the process's
    this.inboxes.delete(node);
  }

  setLink(from: string, to: string, up: boolean): void {
    if (up) this.cut.delete(`${from}>${to}`);
    else this.cut.add(`${from}>${to}`);
  }

  /** Both directions between two nodes. */
  setLinks(a: string, b: string, up: boolean): void {
    this.setLink(a, b, up);
    this.setLink(b, a, up);
  }

  linkUp(from: string, to: string): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  healAll(): void {
    this.cut.clear();
  }
}

/** What the model needs of a speaker process. */
export interface SimProcess {
  /**
   * The layer-2 IPs it would answer an ARP/NDP request for right now: handed to the announcer
   * and let through by the announcer's gate (the lease check made at the moment of sending).
   */
  answering(): ReadonlySet<string>;
  /** The layer-2 IPs it handed the announcer (without the gate); defaults to answering(). */
  announced?(): ReadonlySet<string>;
  /** A crash: nothing more is sent, nothing is answered. */
  crash(): void;
  /** A planned stop (SIGTERM): withdraw, then tell the others. */
  leave(): void;
  /** For debugging a counterexample. */
  detector?: FailureDetector;
}

export interface ProcessContext {
  name: string;
  clock: Clock;
  transport: Transport;
  members: Member[];
  world: SimWorld;
  incarnation: number;
  /** The cluster as the API shows it (fixed during a run). */
  cluster: SimCluster;
}

export type ProcessFactory = (ctx: ProcessContext) => SimProcess;

/** The API objects every speaker decides from: Nodes, layer-2 Services with endpoints everywhere. */
export interface SimCluster {
  nodes: V1Node[];
  config: Config;
  services: V1Service[];
  slices: Map<string, V1EndpointSlice[]>;
  ips: string[];
}

const SIM_CONFIG = `
address-pools:
  - name: l2
    protocol: layer2
    addresses: [198.51.100.0/28, 2001:db8:1::/124]
`;

export function simCluster(names: string[], ips: string[]): SimCluster {
  const services = ips.map((ip, i) => service(`svc${i}`, [ip]));
  return {
    nodes: names.map((n) => nodeObject(n)),
    config: config(SIM_CONFIG),
    services,
    slices: new Map(
      services.map((s) => [
        `default/${s.metadata!.name!}`,
        [
          slice(
            s.metadata!.name!,
            names.map((n) => ({ node: n })),
          ),
        ],
      ]),
    ),
    ips,
  };
}

export interface SpeakerTiming {
  intervalMs?: number;
  suspicionMs?: number;
  leaseMs?: number;
  /** Delay between a change and the decision (the Speaker coalesces changes: 0-20 ms). */
  reconcileMs?: number;
}

/** The production wiring (Speaker's layer-2 path): detector, decision, ownership. */
export function speakerProcess(timing: SpeakerTiming = {}): ProcessFactory {
  return (ctx) => {
    const { name, clock, cluster } = ctx;
    const detector = new FailureDetector({
      self: name,
      transport: ctx.transport,
      clock,
      incarnation: ctx.incarnation,
      ...(timing.intervalMs ? { intervalMs: timing.intervalMs } : {}),
      ...(timing.suspicionMs ? { suspicionMs: timing.suspicionMs } : {}),
      ...(timing.leaseMs ? { leaseMs: timing.leaseMs } : {}),
    });
    detector.setMembers(ctx.members);
    let scheduled = false;
    let dead = false;
    const reconcile = () => {
      scheduled = false;
      if (dead) return;
      const decision = decide({
        node: name,
        config: cluster.config,
        services: cluster.services,
        slices: cluster.slices,
        nodes: cluster.nodes,
        alive: (n) => n === name || detector.isAlive(n),
        claims: (n, ip) => detector.claimOf(n, ip),
        localAsn: 0,
      });
      ownership.apply(decision.layer2);
    };
    const schedule = (ms = timing.reconcileMs ?? 5) => {
      if (scheduled || dead) return;
      scheduled = true;
      clock.after(ms, reconcile);
    };
    const ownership = new Layer2Ownership(detector, name, {
      announce: () => undefined,
      withdraw: () => undefined,
      retry: () => schedule(50),
    });
    detector.on('change', () => schedule());
    detector.start();
    reconcile();
    return {
      detector,
      answering: () =>
        dead ? new Set() : new Set([...ownership.answering].filter((ip) => detector.mayAnswer(ip))),
      announced: () => (dead ? new Set() : ownership.answering),
      crash: () => {
        dead = true;
        detector.stop();
      },
      leave: () => {
        ownership.stop();
        detector.leave();
        dead = true;
      },
    };
  };
}

export interface Violation {
  time: number;
  ip: string;
  nodes: string[];
  /** `answering`: two nodes would answer a request (with the gate); `announced`: two nodes had
   * handed the IP to their announcers (the timer-based step-down alone). */
  kind: 'answering' | 'announced';
}

/** A cluster of simulated speaker processes with the invariant checked after every event. */
export class SimRun {
  readonly world: SimWorld;
  readonly cluster: SimCluster;
  readonly members: Member[];
  readonly processes = new Map<string, SimProcess>();
  readonly violations: Violation[] = [];
  /** Per IP: the answering node after each change, with the time. */
  readonly history = new Map<string, Array<{ time: number; owner: string | undefined }>>();

  constructor(
    readonly names: string[],
    ips: string[],
    readonly factory: ProcessFactory,
    options: WorldOptions,
  ) {
    this.world = new SimWorld(options);
    this.cluster = simCluster(names, ips);
    this.members = names.map((n) => ({ name: n, address: n, port: 7946, expected: true }));
    for (const ip of ips) this.history.set(ip, [{ time: 0, owner: undefined }]);
  }

  start(name: string): void {
    this.world.crash(name); // a fresh generation for the new process
    const p = this.factory({
      name,
      clock: this.world.clock(name),
      transport: this.world.transport(name),
      members: this.members,
      world: this.world,
      // A start time: later processes have larger numbers, as with Date.now() in production.
      incarnation: 1.7e12 + this.world.time + this.world.rng() / 2,
      cluster: this.cluster,
    });
    this.processes.set(name, p);
    this.check();
  }

  crash(name: string): void {
    this.processes.get(name)?.crash();
    this.processes.delete(name);
    this.world.crash(name);
  }

  leave(name: string): void {
    this.processes.get(name)?.leave();
    this.processes.delete(name);
    this.world.run(this.world.time + 5, () => this.check());
    this.world.crash(name);
  }

  /** Cuts (or restores) every link between two groups, both ways. */
  partition(groups: string[][]): void {
    this.world.healAll();
    for (const a of groups)
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.world.setLink(x, y, false);
      }
  }

  run(ms: number): void {
    this.world.run(this.world.time + ms, () => this.check());
  }

  /** Nodes that would answer a request for `ip` now (a stalled process answers nothing). */
  owners(ip: string): string[] {
    return [...this.processes]
      .filter(([n, p]) => !this.world.isStalled(n) && p.answering().has(ip))
      .map(([n]) => n);
  }

  /** Nodes whose announcer holds `ip` (stalled or not). */
  announcers(ip: string): string[] {
    return [...this.processes]
      .filter(([, p]) => (p.announced ?? p.answering).call(p).has(ip))
      .map(([n]) => n);
  }

  private violation(kind: Violation['kind'], ip: string, nodes: string[]): void {
    const last = this.violations.findLast((v) => v.kind === kind && v.ip === ip);
    if (!last || last.nodes.join() !== nodes.join())
      this.violations.push({ time: this.world.time, ip, nodes, kind });
  }

  /**
   * The invariant: at most one node answers for an IP at any instant. Checked twice: on what
   * would go on the wire (the announcer's gate included: holds through stalls of any length),
   * and, unless `strict` is off, on what the Speaker hands the announcer (the timer-based
   * step-down alone: holds while timers are late by less than the margin, and no stall).
   */
  strict = true;

  check(): void {
    for (const ip of this.cluster.ips) {
      const owners = this.owners(ip);
      if (owners.length > 1) this.violation('answering', ip, owners);
      if (this.strict) {
        const announcers = this.announcers(ip);
        if (announcers.length > 1) this.violation('announced', ip, announcers);
      }
      const h = this.history.get(ip)!;
      const owner = owners.length === 1 ? owners[0] : undefined;
      if (h.at(-1)!.owner !== owner) h.push({ time: this.world.time, owner });
    }
  }
}
