import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BfdDiagnostic,
  BfdSession,
  BfdState,
  decodeControlPacket,
  encodeControlPacket,
  type BfdClock,
  type BfdDownEvent,
  type BfdEndpoint,
  type BfdNetwork,
  type BfdTimer,
  type ControlPacket,
} from '../src/bfd/index.js';
import { BfdReceiver } from '../src/bfd/receiver.js';
import { controlPacket } from '../src/testing.js';
import { detectionTime, jitteredInterval, transmitInterval } from '../src/bfd/timing.js';

/** Virtual time: timers run only when the test advances the clock. */
class FakeClock implements BfdClock {
  time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private seed = 12345;

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): BfdTimer {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return { cancel: () => this.timers.delete(id) };
  }

  /** A small deterministic generator, so jitter varies but runs repeat. */
  random = (): number => {
    this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
    return this.seed / 2 ** 31;
  };

  advance(ms: number): void {
    const end = this.time + ms;
    for (let steps = 0; steps < 1_000_000; steps++) {
      let nextId: number | undefined;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (!next || timer.at < next.at || (timer.at === next.at && id < nextId!))) {
          next = timer;
          nextId = id;
        }
      }
      if (!next || nextId === undefined) break;
      this.timers.delete(nextId);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }
}

interface Sent {
  at: number;
  from: string;
  packet: ControlPacket;
}

/**
 * An in-memory wire: what a session sends is decoded by the real receiver of the endpoint whose
 * local address is the destination, 1 ms later. `cut` drops everything, `mute` one direction.
 */
class FakeNetwork implements BfdNetwork {
  readonly sent: Sent[] = [];
  readonly receivers = new Map<string, BfdReceiver>();
  cut = false;
  readonly muted = new Set<string>();

  constructor(private readonly clock: FakeClock) {}

  open(endpoint: BfdEndpoint) {
    let receiver = this.receivers.get(endpoint.localAddress);
    if (!receiver) {
      receiver = new BfdReceiver();
      this.receivers.set(endpoint.localAddress, receiver);
    }
    receiver.add(endpoint);
    const mine = receiver;
    let open = true;
    let attached = true;
    const detach = () => {
      if (attached) mine.delete(endpoint);
      attached = false;
    };
    return {
      send: (data: Buffer) => {
        if (!open) throw new Error('send after close');
        const decoded = decodeControlPacket(data);
        if (!decoded.ok) throw new Error(`session sent an invalid packet: ${decoded.reason}`);
        this.sent.push({ at: this.clock.now(), from: endpoint.localAddress, packet: decoded.packet });
        if (this.cut || this.muted.has(endpoint.localAddress)) return;
        this.clock.setTimer(() => {
          this.receivers
            .get(endpoint.peerAddress)
            ?.handle({ data, ttl: 255, address: endpoint.localAddress });
        }, 1);
      },
      detach,
      close: () => {
        open = false;
        detach();
      },
    };
  }

  /** Delivers a hand-made packet to the session on `to`, as if sent by `from`. */
  inject(to: string, from: string, packet: ControlPacket, ttl = 255): void {
    this.receivers.get(to)?.handle({ data: encodeControlPacket(packet), ttl, address: from });
  }

  from(address: string): Sent[] {
    return this.sent.filter((s) => s.from === address);
  }
}

const A = '192.0.2.1';
const B = '192.0.2.2';
const sessions: BfdSession[] = [];

function makeSession(
  clock: FakeClock,
  network: FakeNetwork,
  local: string,
  peer: string,
  overrides: Partial<{ desiredMinTxMs: number; requiredMinRxMs: number; detectMultiplier: number }> = {},
  registry?: Registry,
): BfdSession {
  const session = new BfdSession({
    localAddress: local,
    peerAddress: peer,
    desiredMinTxMs: 300,
    requiredMinRxMs: 300,
    detectMultiplier: 3,
    clock,
    network,
    registry,
    ...overrides,
  });
  sessions.push(session);
  return session;
}

function recordEvents(session: BfdSession) {
  const states: string[] = [];
  const downs: (BfdDownEvent & { at: number })[] = [];
  let ups = 0;
  return {
    states,
    downs,
    get ups() {
      return ups;
    },
    attach(clock: FakeClock) {
      session.on('state', (state) => states.push(state));
      session.on('up', () => ups++);
      session.on('down', (event) => downs.push({ ...event, at: clock.now() }));
      return this;
    },
  };
}

/** Two sessions facing each other, started and brought Up. */
function upPair(overrides: Parameters<typeof makeSession>[4] = {}) {
  const clock = new FakeClock();
  const network = new FakeNetwork(clock);
  const registry = new Registry();
  const a = makeSession(clock, network, A, B, overrides, registry);
  const b = makeSession(clock, network, B, A, {}, new Registry());
  const eventsA = recordEvents(a).attach(clock);
  a.start();
  b.start();
  clock.advance(5000);
  return { clock, network, registry, a, b, eventsA };
}

function remotePacket(overrides: Partial<ControlPacket>): ControlPacket {
  return controlPacket({ myDiscriminator: 0xbeef, requiredMinRxInterval: 300_000, ...overrides });
}

afterEach(async () => {
  // Silent stops need no clock; every session releases its discriminator.
  await Promise.all(sessions.splice(0).map((s) => s.stop({ silent: true })));
});

describe('timer arithmetic (RFC 5880 sections 6.8.4 and 6.8.7)', () => {
  test('transmit interval is the larger of ours and the remote minimum, 0 when the remote wants none', () => {
    expect(transmitInterval(300_000, 1)).toBe(300_000);
    expect(transmitInterval(300_000, 500_000)).toBe(500_000);
    expect(transmitInterval(300_000, 0)).toBe(0);
  });

  test('jitter keeps intervals within 75-100%, or 75-90% with detect multiplier 1', () => {
    expect(jitteredInterval(1000, 3, () => 0)).toBe(1000);
    expect(jitteredInterval(1000, 3, () => 0.999999)).toBeCloseTo(750, 3);
    expect(jitteredInterval(1000, 1, () => 0)).toBeCloseTo(900, 6);
    expect(jitteredInterval(1000, 1, () => 0.999999)).toBeCloseTo(750, 3);
  });

  test('detection time is the remote multiplier times the larger of our rx and its tx', () => {
    expect(detectionTime(3, 300_000, 1_000_000)).toBe(3_000_000);
    expect(detectionTime(5, 300_000, 100_000)).toBe(1_500_000);
  });
});

describe('BfdSession state machine', () => {
  test('validates its options', () => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    expect(() => makeSession(clock, network, A, B, { detectMultiplier: 0 })).toThrow(/detectMultiplier/);
    expect(() => makeSession(clock, network, A, B, { detectMultiplier: 256 })).toThrow(/detectMultiplier/);
    expect(() => makeSession(clock, network, A, B, { desiredMinTxMs: 0 })).toThrow(/desiredMinTxMs/);
    expect(() => makeSession(clock, network, A, B, { requiredMinRxMs: 5_000_000 })).toThrow(
      /requiredMinRxMs/,
    );
    expect(() => makeSession(clock, network, A, '2001:db8::2')).toThrow(/different families/);
    expect(() => makeSession(clock, network, A, 'router.example')).toThrow();
  });

  test('alone, it sends Down packets once a second with jitter and a 1 s DesiredMinTx (6.8.3, 6.8.7)', () => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    const a = makeSession(clock, network, A, B);
    a.start();
    clock.advance(20_000);
    const sent = network.from(A);
    expect(sent.length).toBeGreaterThanOrEqual(20);
    expect(sent.length).toBeLessThanOrEqual(27);
    for (let i = 1; i < sent.length; i++) {
      const gap = sent[i]!.at - sent[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(750);
      expect(gap).toBeLessThanOrEqual(1000);
    }
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    expect(new Set(gaps.map(Math.round)).size).toBeGreaterThan(3); // really jittered
    for (const { packet } of sent) {
      expect(packet.state).toBe(BfdState.Down);
      expect(packet.yourDiscriminator).toBe(0);
      expect(packet.myDiscriminator).toBe(a.localDiscriminator);
      expect(packet.desiredMinTxInterval).toBe(1_000_000);
      expect(packet.requiredMinRxInterval).toBe(300_000);
      expect(packet.detectMultiplier).toBe(3);
      expect(packet.poll || packet.final || packet.demand || packet.controlPlaneIndependent).toBe(false);
    }
    expect(a.state).toBe('Down');
  });

  test('two sessions come Up through Down -> Init -> Up and agree on 300 ms after a poll sequence', () => {
    const { a, b, network, eventsA } = upPair();
    expect(a.state).toBe('Up');
    expect(b.state).toBe('Up');
    expect(eventsA.states).toEqual(['Init', 'Up']);
    expect(eventsA.ups).toBe(1);
    expect(a.transmitIntervalMs).toBe(300);
    expect(a.detectionTimeMs).toBe(900);

    // Section 6.5: after Up, A polls with its new DesiredMinTx until B answers with Final.
    const fromA = network.from(A);
    const firstUp = fromA.findIndex((s) => s.packet.state === BfdState.Up);
    const polls = fromA.slice(firstUp).filter((s) => s.packet.poll);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls[0]!.packet.desiredMinTxInterval).toBe(300_000);
    const finals = network.from(B).filter((s) => s.packet.final);
    expect(finals.length).toBeGreaterThanOrEqual(1);
    const lastPoll = polls[polls.length - 1]!;
    // Once the Final arrived, A stops polling.
    expect(fromA.filter((s) => s.at > lastPoll.at + 10).every((s) => !s.packet.poll)).toBe(true);
    // P and F are never both set (section 6.5).
    expect(network.sent.some((s) => s.packet.poll && s.packet.final)).toBe(false);
    // Each side names the other's discriminator.
    expect(fromA[fromA.length - 1]!.packet.yourDiscriminator).toBe(b.localDiscriminator);
  });

  test('while Up, packets flow every 225-300 ms', () => {
    const { clock, network } = upPair();
    const start = clock.now();
    clock.advance(6000);
    const sent = network.from(A).filter((s) => s.at > start);
    for (let i = 1; i < sent.length; i++) {
      const gap = sent[i]!.at - sent[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(225);
      expect(gap).toBeLessThanOrEqual(300);
    }
    expect(sent.length).toBeGreaterThanOrEqual(20);
  });

  test('a silent peer is declared down after the detection time with diagnostic 1 (6.8.4)', () => {
    const { clock, network, a, eventsA } = upPair();
    const lastFromB = () => network.from(B).at(-1)!.at;
    network.muted.add(B);
    const silentSince = lastFromB();
    clock.advance(2000);
    expect(a.state).toBe('Down');
    expect(eventsA.downs).toHaveLength(1);
    const down = eventsA.downs[0]!;
    expect(down.diagnostic).toBe(BfdDiagnostic.ControlDetectionTimeExpired);
    expect(down.remoteAdminDown).toBe(false);
    // Detection time is 3 x 300 ms, counted from the last packet received (sent + 1 ms).
    expect(down.at - (silentSince + 1)).toBe(900);
    // Back to the slow rate, advertising 1 s and telling the peer why.
    const after = network.from(A).filter((s) => s.at > down.at);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]!.packet.state).toBe(BfdState.Down);
    expect(after[0]!.packet.diagnostic).toBe(BfdDiagnostic.ControlDetectionTimeExpired);
    expect(after[0]!.packet.desiredMinTxInterval).toBe(1_000_000);
    // Section 6.8.1: the remote discriminator is forgotten.
    expect(after[0]!.packet.yourDiscriminator).toBe(0);
  });

  test('it comes back Up when the peer is heard again', () => {
    const { clock, network, a, eventsA } = upPair();
    network.muted.add(B);
    clock.advance(3000);
    expect(a.state).toBe('Down');
    network.muted.delete(B);
    clock.advance(8000);
    expect(a.state).toBe('Up');
    expect(eventsA.ups).toBe(2);
  });

  test('stop() sends AdminDown with diagnostic 7; the peer goes Down with diagnostic 3, flagged remote AdminDown', async () => {
    const { clock, network, a, b } = upPair();
    const eventsB = recordEvents(b).attach(clock);
    const stopping = a.stop();
    clock.advance(2000);
    await stopping;
    const adminDown = network.from(A).filter((s) => s.packet.state === BfdState.AdminDown);
    expect(adminDown).toHaveLength(3); // Detect Mult packets
    expect(adminDown.every((s) => s.packet.diagnostic === BfdDiagnostic.AdministrativelyDown)).toBe(true);
    expect(a.state).toBe('AdminDown');
    expect(b.state).toBe('Down');
    expect(b.diagnostic).toBe(BfdDiagnostic.NeighborSignaledSessionDown);
    expect(eventsB.downs).toEqual([
      expect.objectContaining({
        diagnostic: BfdDiagnostic.NeighborSignaledSessionDown,
        remoteAdminDown: true,
      }),
    ]);
    // Nothing more leaves A once stopped.
    const count = network.from(A).length;
    clock.advance(5000);
    expect(network.from(A).length).toBe(count);
    // B stays Down: it does not restart a handshake with an AdminDown peer (no more packets come).
    expect(b.state).toBe('Down');
  });

  test('a new session to the same peer can start while the old one still sends its AdminDowns', async () => {
    const { clock, network, a } = upPair();
    const stopping = a.stop();
    const next = makeSession(clock, network, A, B);
    expect(() => next.start()).not.toThrow();
    clock.advance(3000);
    await stopping;
    clock.advance(5000);
    expect(next.state).toBe('Up');
    expect(next.localDiscriminator).not.toBe(a.localDiscriminator);
  });

  test('stop({silent}) sends nothing and the peer detects it by timeout', async () => {
    const { clock, network, a, b } = upPair();
    const eventsB = recordEvents(b).attach(clock);
    const count = network.from(A).length;
    await a.stop({ silent: true });
    clock.advance(2000);
    expect(network.from(A).length).toBe(count);
    expect(b.state).toBe('Down');
    expect(eventsB.downs[0]?.diagnostic).toBe(BfdDiagnostic.ControlDetectionTimeExpired);
  });

  test('a Poll from the peer is answered at once with a Final carrying no Poll (6.8.6)', () => {
    const { clock, network, a, b } = upPair();
    const before = network.from(A).length;
    network.inject(A, B, {
      ...remotePacket({ state: BfdState.Up, myDiscriminator: b.localDiscriminator }),
      yourDiscriminator: a.localDiscriminator,
      poll: true,
      desiredMinTxInterval: 100_000,
      requiredMinRxInterval: 500_000,
    });
    const reply = network.from(A)[before]!;
    expect(reply.at).toBe(clock.now());
    expect(reply.packet.final).toBe(true);
    expect(reply.packet.poll).toBe(false);
    // The new remote parameters apply: we now send at its 500 ms minimum; detection is 3 x 300 ms.
    expect(a.transmitIntervalMs).toBe(500);
    expect(a.detectionTimeMs).toBe(900);
  });

  test('a peer asking for no packets (RequiredMinRx 0) gets none (6.8.7)', () => {
    const { clock, network, a, b } = upPair();
    network.muted.add(B);
    network.inject(A, B, {
      ...remotePacket({ state: BfdState.Up, myDiscriminator: b.localDiscriminator }),
      yourDiscriminator: a.localDiscriminator,
      requiredMinRxInterval: 0,
    });
    const count = network.from(A).length;
    clock.advance(800);
    expect(network.from(A).length).toBe(count);
  });

  // RFC 5880 section 6.2 / 6.8.6 transition table, driven by hand-made packets.
  const transitions: [string, BfdState[], BfdState, string][] = [
    ['Down + Down -> Init', [], BfdState.Down, 'Init'],
    ['Down + Init -> Up', [], BfdState.Init, 'Up'],
    ['Down + Up stays Down', [], BfdState.Up, 'Down'],
    ['Down + AdminDown stays Down', [], BfdState.AdminDown, 'Down'],
    ['Init + Init -> Up', [BfdState.Down], BfdState.Init, 'Up'],
    ['Init + Up -> Up', [BfdState.Down], BfdState.Up, 'Up'],
    ['Init + Down stays Init', [BfdState.Down], BfdState.Down, 'Init'],
    ['Init + AdminDown -> Down', [BfdState.Down], BfdState.AdminDown, 'Down'],
    ['Up + Up stays Up', [BfdState.Init], BfdState.Up, 'Up'],
    ['Up + Init stays Up', [BfdState.Init], BfdState.Init, 'Up'],
    ['Up + Down -> Down', [BfdState.Init], BfdState.Down, 'Down'],
    ['Up + AdminDown -> Down', [BfdState.Init], BfdState.AdminDown, 'Down'],
  ];
  test.each(transitions)('%s', (_name, setup, received, expected) => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    const a = makeSession(clock, network, A, B);
    a.start();
    const send = (state: BfdState) =>
      network.inject(
        A,
        B,
        remotePacket({
          state,
          yourDiscriminator:
            state === BfdState.Down || state === BfdState.AdminDown ? 0 : a.localDiscriminator,
        }),
      );
    for (const state of setup) send(state);
    send(received);
    expect(a.state).toBe(expected);
    if (expected === 'Down' && setup.length > 0) {
      expect(a.diagnostic).toBe(BfdDiagnostic.NeighborSignaledSessionDown);
    }
  });

  test('packets that fail the receive checks change nothing and are counted', async () => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    const registry = new Registry();
    const a = makeSession(clock, network, A, B, {}, registry);
    a.start();
    network.inject(A, B, remotePacket({ state: BfdState.Init, yourDiscriminator: a.localDiscriminator }), 64);
    network.inject(A, B, remotePacket({ state: BfdState.Init, yourDiscriminator: a.localDiscriminator + 1 }));
    network.inject(A, B, {
      ...remotePacket({ state: BfdState.Init, yourDiscriminator: a.localDiscriminator }),
      authentication: { type: 1, data: Uint8Array.from([1, 0x70, 0x77]) },
    });
    // Same packet from a stranger: no session, nothing to charge.
    network.inject(
      A,
      '192.0.2.99',
      remotePacket({ state: BfdState.Init, yourDiscriminator: a.localDiscriminator }),
    );
    expect(a.state).toBe('Down');
    const dropped = await registry.getSingleMetric('portico_bfd_control_packets_dropped_total')!.get();
    const byReason = Object.fromEntries(dropped.values.map((v) => [v.labels.reason, v.value]));
    expect(byReason).toEqual({ ttl: 1, discriminator: 1, authentication: 1 });
  });

  test('metrics follow the session: up gauge, packets, transitions', async () => {
    const { registry, a } = upPair();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const metric = await registry.getSingleMetric(name)!.get();
      return metric.values
        .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
        .reduce((sum, v) => sum + v.value, 0);
    };
    expect(await value('portico_bfd_session_up', { peer: B })).toBe(1);
    expect(await value('portico_bfd_control_packets_sent_total')).toBeGreaterThan(3);
    expect(await value('portico_bfd_control_packets_received_total')).toBeGreaterThan(3);
    expect(await value('portico_bfd_state_transitions_total', { from: 'Init', to: 'Up' })).toBe(1);
    await a.stop({ silent: true });
    const up = await registry.getSingleMetric('portico_bfd_session_up')!.get();
    expect(up.values.filter((v) => v.labels.peer === B)).toEqual([]);
  });

  test('one receiver refuses a second session to the same peer', () => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    makeSession(clock, network, A, B).start();
    const twin = makeSession(clock, network, A, B);
    expect(() => twin.start()).toThrow(/already exists/);
  });

  test('IPv6 addresses are compared in canonical form', () => {
    const clock = new FakeClock();
    const network = new FakeNetwork(clock);
    const a = makeSession(clock, network, '2001:DB8:0::1', '2001:db8:0:0::2');
    const b = makeSession(clock, network, '2001:db8::2', '2001:db8::1');
    a.start();
    b.start();
    clock.advance(5000);
    expect(a.peerAddress).toBe('2001:db8::2');
    expect(a.state).toBe('Up');
    expect(b.state).toBe('Up');
  });
});
