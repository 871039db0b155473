// The shell plumbing the BGP benchmarks share: running a command, a two-namespace topology
// (a router and a speaker joined by one veth pair) that a benchmark names with its own prefix,
// and GoBGP's daemon started in one of them.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** Runs a command and returns its stdout; with `allowFail`, a failure returns what it printed. */
export function sh(cmd, args, allowFail = false) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    if (allowFail) return err.stdout ?? '';
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr ?? err.message}`, { cause: err });
  }
}

/** Kills every process left in the namespaces, then deletes them (missing ones are fine). */
export function teardown(...namespaces) {
  for (const ns of namespaces) {
    for (const pid of sh('ip', ['netns', 'pids', ns], true).split('\n').filter(Boolean))
      sh('kill', ['-9', pid], true);
    sh('ip', ['netns', 'del', ns], true);
  }
}

/**
 * Fresh namespaces `router` and `speaker` joined by the veth pair `routerLink`/`speakerLink`:
 * the router is 192.0.2.1/24 and 2001:db8::1/64, the speaker .2 and ::2 (nodad, so IPv6 is usable
 * at once); loopback is up in both, for daemons that listen or talk there.
 */
export function topology({ router, speaker, routerLink, speakerLink }) {
  teardown(router, speaker);
  sh('ip', ['netns', 'add', router]);
  sh('ip', ['netns', 'add', speaker]);
  sh('ip', [
    'link',
    'add',
    routerLink,
    'netns',
    router,
    'type',
    'veth',
    'peer',
    'name',
    speakerLink,
    'netns',
    speaker,
  ]);
  for (const [ns, dev, v4, v6] of [
    [router, routerLink, '192.0.2.1/24', '2001:db8::1/64'],
    [speaker, speakerLink, '192.0.2.2/24', '2001:db8::2/64'],
  ]) {
    sh('ip', ['-n', ns, 'addr', 'add', v4, 'dev', dev]);
    sh('ip', ['-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
}

/** Kills the process whose pid a daemon wrote to `pidFile`, if there is one. */
export function killPidFile(pidFile) {
  sh('sh', ['-c', `kill -9 $(cat ${pidFile}) 2>/dev/null; true`], true);
}

/**
 * Starts gobgpd in namespace `ns` with `toml` as its config (written to `configFile`) and its API
 * on 127.0.0.1:50051 there; returns the child once `gobgp global` answers (at most ~10 s).
 */
export function startGobgpd(ns, configFile, toml) {
  writeFileSync(configFile, toml);
  const args = ['-f', configFile, '--api-hosts', '127.0.0.1:50051', '-p', '--pprof-disable'];
  const child = spawn('ip', ['netns', 'exec', ns, 'gobgpd', ...args], { stdio: 'ignore' });
  sh('sh', [
    '-c',
    `for i in $(seq 100); do ip netns exec ${ns} gobgp global >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1`,
  ]);
  return child;
}
