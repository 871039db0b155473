// The routers of the churn benchmark (FRR bgpd without zebra, BIRD 2; testbed.md §1.3, §1.6),
// each run in the router namespace with its files in a private directory, and queried over a
// persistent connection to its own control socket so that a poll costs no process start.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlClient } from './router-control.mjs';

const SPEAKER = '192.0.2.2';

async function waitForFile(path, what) {
  for (let i = 0; i < 100; i++) {
    if (existsSync(path)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start (no ${path})`);
}

const frrJson = (reply) => JSON.parse(reply.slice(0, reply.indexOf('\0')) || '{}');

/** @param {string} ns router namespace  @param {string} dir private state directory */
export function frr(ns, dir) {
  let vty;
  return {
    name: 'FRR bgpd',
    async start() {
      writeFileSync(
        join(dir, 'bgpd.conf'),
        [
          'frr defaults traditional',
          'router bgp 65000',
          ' bgp router-id 192.0.2.1',
          ' no bgp ebgp-requires-policy',
          ' no bgp default ipv4-unicast',
          ` neighbor ${SPEAKER} remote-as 65001`,
          ` neighbor ${SPEAKER} timers connect 1`,
          ' address-family ipv4 unicast',
          `  neighbor ${SPEAKER} activate`,
          ' exit-address-family',
          '',
        ].join('\n'),
      );
      const args = ['-Z', '-n', '-S', '-P', '0', '-f', join(dir, 'bgpd.conf')];
      args.push('-i', join(dir, 'bgpd.pid'), '--vty_socket', dir, '--log', `file:${join(dir, 'bgpd.log')}`);
      spawn('ip', ['netns', 'exec', ns, '/usr/lib/frr/bgpd', ...args], { stdio: 'ignore' });
      await waitForFile(join(dir, 'bgpd.vty'), 'FRR bgpd');
      vty = controlClient(join(dir, 'bgpd.vty'), 'frr');
    },
    /** [session Established, prefixes received] */
    async summary() {
      const j = frrJson(await vty.query('show bgp ipv4 unicast summary json'));
      const p = j.peers?.[SPEAKER] ?? {};
      return [p.state === 'Established', p.pfxRcd ?? 0];
    },
    async has(prefix) {
      const j = frrJson(await vty.query(`show bgp ipv4 unicast ${prefix} json`));
      return Array.isArray(j.paths) && j.paths.length > 0;
    },
    async table() {
      return new Set(Object.keys(frrJson(await vty.query('show bgp ipv4 unicast json')).routes ?? {}));
    },
    async updatesReceived() {
      const j = frrJson(await vty.query(`show bgp neighbors ${SPEAKER} json`));
      return j[SPEAKER]?.messageStats?.updatesRecv;
    },
    pidFile: join(dir, 'bgpd.pid'),
    close: () => vty?.close(),
  };
}

export function bird(ns, dir) {
  let ctl;
  return {
    name: 'BIRD 2',
    async start() {
      writeFileSync(
        join(dir, 'bird.conf'),
        `router id 192.0.2.1;
protocol device { scan time 10; }
protocol bgp s4 { local 192.0.2.1 as 65000; neighbor ${SPEAKER} as 65001; connect retry time 1;
  ipv4 { import all; export none; }; }
`,
      );
      const args = ['-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')];
      args.push('-P', join(dir, 'bird.pid'));
      spawn('ip', ['netns', 'exec', ns, '/usr/sbin/bird', ...args], { stdio: 'ignore' });
      await waitForFile(join(dir, 'bird.ctl'), 'BIRD');
      ctl = controlClient(join(dir, 'bird.ctl'), 'bird');
    },
    async summary() {
      const out = await ctl.query('show protocols all s4');
      const m = /Routes:\s+(\d+) imported/.exec(out);
      return [/BGP state:\s+Established/.test(out), m ? Number(m[1]) : 0];
    },
    async has(prefix) {
      const out = await ctl.query(`show route ${prefix} table master4`);
      return out.includes(`${prefix} `) || out.includes(`${prefix}\t`);
    },
    async table() {
      const out = await ctl.query('show route table master4');
      return new Set(out.match(/\b198\.1[89]\.\d+\.\d+\/32\b/g) ?? []);
    },
    async updatesReceived() {
      return undefined; // BIRD does not count UPDATE messages
    },
    pidFile: join(dir, 'bird.pid'),
    close: () => ctl?.close(),
  };
}
