// Exercises the addon's packet sockets inside a network namespace holding the veth pair
// pl2-pa <-> pl2-pb, and prints what it observed as one JSON object (see packet-socket.test.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinkWatcher, MulticastGroups, PacketSocket } from '@portico/native';

const ifindex = (name) => Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
const macOf = (name) =>
  Buffer.from(readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');
const maddr = (name) => execFileSync('ip', ['maddr', 'show', 'dev', name], { encoding: 'utf8' });
const errorOf = (f) => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err.message;
  }
};

const result = {};
const receivedA = [];
const receivedB = [];
const a = new PacketSocket({
  ifindex: ifindex('pl2-pa'),
  ethertype: 0x0806,
  onFrame: (f, t) => receivedA.push([f.toString('hex'), t]),
});
const b = new PacketSocket({
  ifindex: ifindex('pl2-pb'),
  ethertype: 0x0806,
  onFrame: (f, t) => receivedB.push([f.toString('hex'), t]),
});

// 1. A frame sent on A arrives on B (broadcast, then unicast to someone else), never back on A.
const arpPayload = Buffer.alloc(28, 0x11);
const broadcast = Buffer.concat([
  Buffer.from('ffffffffffff', 'hex'),
  macOf('pl2-pa'),
  Buffer.from('0806', 'hex'),
  arpPayload,
]);
const otherHost = Buffer.concat([
  Buffer.from('02000000beef', 'hex'),
  macOf('pl2-pa'),
  Buffer.from('0806', 'hex'),
  arpPayload,
]);
result.sentBytes = a.send(broadcast);
a.send(otherHost);
await sleep(200);
result.receivedOnB = receivedB;
result.receivedOnA = receivedA;
result.frames = [broadcast.toString('hex'), otherHost.toString('hex')];

// 2. A kernel-side BPF filter: keep IPv6 frames whose next header is 58 (ICMPv6), drop the rest.
const filtered = [];
const v6 = new PacketSocket({
  ifindex: ifindex('pl2-pb'),
  ethertype: 0x86dd,
  filter: [
    [0x30, 0, 0, 20],
    [0x15, 0, 1, 58],
    [0x06, 0, 0, 0x40000],
    [0x06, 0, 0, 0],
  ],
  // Only our test frames carry the marker; the kernel's own ICMPv6 (DAD, router solicitations) may pass too.
  onFrame: (f) => f[54] === 0x7e && filtered.push(f[20]),
});
const sender = new PacketSocket({ ifindex: ifindex('pl2-pa'), ethertype: 0x86dd, onFrame: () => {} });
const ipv6Frame = (nextHeader) => {
  const frame = Buffer.alloc(14 + 40 + 8);
  Buffer.from('333300000001', 'hex').copy(frame, 0);
  macOf('pl2-pa').copy(frame, 6);
  frame.writeUInt16BE(0x86dd, 12);
  frame[14] = 0x60;
  frame.writeUInt16BE(8, 18);
  frame[20] = nextHeader;
  frame[21] = 255;
  frame[54] = 0x7e; // marker
  return frame;
};
sender.send(ipv6Frame(17));
sender.send(ipv6Frame(58));
sender.send(ipv6Frame(6));
await sleep(200);
result.filteredNextHeaders = filtered;

// 3. Link-layer multicast membership and IPv6 group membership (MLD).
v6.addMembership(Buffer.from('3333ff000060', 'hex'));
result.linkMembershipAdded = maddr('pl2-pb');
v6.dropMembership(Buffer.from('3333ff000060', 'hex'));
result.linkMembershipDropped = maddr('pl2-pb');
const groups = new MulticastGroups();
groups.join(ifindex('pl2-pb'), Buffer.from('ff0200000000000000000001ff000060', 'hex'));
result.groupJoined = maddr('pl2-pb');
groups.close();
result.groupClosed = maddr('pl2-pb');

// 4. Link change notifications: a new link is reported, nothing after close.
let changes = 0;
const watcher = new LinkWatcher(() => changes++);
execFileSync('ip', ['link', 'add', 'pl2-pd', 'type', 'veth', 'peer', 'name', 'pl2-pe']);
for (let i = 0; i < 50 && changes === 0; i++) await sleep(20);
result.changesAfterAdd = changes;
watcher.close();
watcher.close();
const before = changes;
execFileSync('ip', ['link', 'del', 'pl2-pd']);
await sleep(200);
result.changesAfterClose = changes - before;

// 5. Lifecycle and errors.
a.close();
a.close();
result.sendAfterClose = errorOf(() => a.send(broadcast));
result.badInterface = errorOf(
  () => new PacketSocket({ ifindex: 99999, ethertype: 0x0806, onFrame: () => {} }),
);
result.badFrame = errorOf(() => b.send('not a buffer'));
for (const s of [b, v6, sender]) s.close();
console.log(JSON.stringify(result));
