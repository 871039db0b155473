// The BGP benchmarks' plumbing, from the testbed (@portico/testbed, built by `npx tsc -b`):
// running a command, a two-namespace topology (a router and a speaker joined by one veth pair)
// that a benchmark names with its own prefix, and GoBGP's daemon started in one of them.
import { dirname } from 'node:path';
import { createPair, deleteNetns, Gobgp, run, signalPidFile } from '@portico/testbed';

/** Runs a command and returns its stdout; with `allowFail`, a failure returns what it printed. */
export function sh(cmd, args, allowFail = false) {
  return run(cmd, args, { allowFail });
}

/** Kills every process left in the namespaces, then deletes them (missing ones are fine). */
export function teardown(...namespaces) {
  for (const ns of namespaces) deleteNetns(ns);
}

/**
 * Fresh namespaces `router` and `speaker` joined by the veth pair `routerLink`/`speakerLink`:
 * the router is 192.0.2.1/24 and 2001:db8::1/64, the speaker .2 and ::2 (nodad, so IPv6 is usable
 * at once); loopback is up in both, for daemons that listen or talk there.
 */
export function topology({ router, speaker, routerLink, speakerLink }) {
  createPair(
    { netns: router, link: routerLink, addresses: ['192.0.2.1/24', '2001:db8::1/64'] },
    { netns: speaker, link: speakerLink, addresses: ['192.0.2.2/24', '2001:db8::2/64'] },
  );
}

/** Kills the process whose pid a daemon wrote to `pidFile`, if there is one. */
export function killPidFile(pidFile) {
  signalPidFile(pidFile, 'SIGKILL');
}

/**
 * Starts gobgpd in namespace `ns` with `toml` as its config (written to `configFile`'s directory
 * as gobgpd.toml) and its API on 127.0.0.1:50051 there; returns the child once `gobgp global`
 * answers (at most 10 s).
 */
export function startGobgpd(ns, configFile, toml) {
  return new Gobgp(ns, dirname(configFile)).start(toml);
}
