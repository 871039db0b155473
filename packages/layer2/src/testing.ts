/**
 * In-memory stand-ins for packet sockets and group membership, so responders run without root.
 * Exported as @portico/layer2/testing (not from the index): the layer-2 tests and the speaker's
 * tests drive an Announcer over them, and this package owns the interfaces they fake.
 */
import type { FrameSocket, FrameSocketOptions, GroupMembership } from './frame-socket.js';
import type { Link } from './interfaces.js';

export class FakeSocket implements FrameSocket {
  readonly sent: Buffer[] = [];
  readonly memberships = new Set<string>();
  closed = false;
  constructor(readonly options: FrameSocketOptions) {}
  send(frame: Buffer): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(frame);
  }
  addMembership(mac: Buffer): void {
    this.memberships.add(mac.toString('hex'));
  }
  dropMembership(mac: Buffer): void {
    this.memberships.delete(mac.toString('hex'));
  }
  close(): void {
    this.closed = true;
  }
  /** A frame arriving from the wire. */
  receive(frame: Buffer): void {
    this.options.onFrame(frame);
  }
}

export class FakeGroups implements GroupMembership {
  readonly joined = new Set<string>();
  closed = false;
  join(ifindex: number, group: Buffer): void {
    this.joined.add(`${ifindex}/${group.toString('hex')}`);
  }
  leave(ifindex: number, group: Buffer): void {
    this.joined.delete(`${ifindex}/${group.toString('hex')}`);
  }
  close(): void {
    this.closed = true;
    this.joined.clear();
  }
}

/** Records every socket and group object the announcer opens. */
export function fakeNetwork() {
  const sockets: FakeSocket[] = [];
  const groups: FakeGroups[] = [];
  return {
    sockets,
    groups,
    openSocket: (options: FrameSocketOptions) => {
      const socket = new FakeSocket(options);
      sockets.push(socket);
      return socket;
    },
    openGroups: () => {
      const g = new FakeGroups();
      groups.push(g);
      return g;
    },
    /** The open socket of one interface for one ethertype. */
    socket(ifindex: number, ethertype: number): FakeSocket {
      const found = sockets.filter(
        (s) => !s.closed && s.options.ifindex === ifindex && s.options.ethertype === ethertype,
      );
      if (found.length !== 1) throw new Error(`expected one open socket, found ${found.length}`);
      return found[0]!;
    },
  };
}

export function link(overrides: Partial<Link> = {}): Link {
  return {
    name: 'eth0',
    index: 2,
    mac: Buffer.from('020000005301', 'hex'),
    up: true,
    broadcast: true,
    noArp: false,
    enslaved: false,
    ethernet: true,
    linkLocal: Buffer.from('fe800000000000000000000000005301', 'hex'),
    ...overrides,
  };
}
