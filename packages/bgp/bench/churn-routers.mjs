// The routers of the churn benchmark (FRR bgpd without zebra, BIRD 2; testbed.md §1.3, §1.6),
// each run in the router namespace with its files in a private directory, and queried over a
// persistent connection to its own control socket so that a poll costs no process start.
import { join } from 'node:path';
import { Bird, birdConfig, Frr, frrBgpdConfig } from '@portico/testbed';
import { controlClient } from './router-control.mjs';

const SPEAKER = '192.0.2.2';

const frrJson = (reply) => JSON.parse(reply.slice(0, reply.indexOf('\0')) || '{}');

/** @param {string} ns router namespace  @param {string} dir private state directory */
export function frr(ns, dir) {
  let vty;
  return {
    name: 'FRR bgpd',
    async start() {
      new Frr(ns, dir).startBgpd(
        frrBgpdConfig({
          asn: 65000,
          routerId: '192.0.2.1',
          neighbors: [{ address: SPEAKER, remoteAs: 65001, connectRetry: 1 }],
          addressFamilies: { ipv4: { activate: [SPEAKER] } },
        }),
      );
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
      new Bird(ns, dir).start(
        birdConfig({
          routerId: '192.0.2.1',
          sessions: [
            {
              name: 's4',
              local: '192.0.2.1',
              localAs: 65000,
              neighbor: SPEAKER,
              neighborAs: 65001,
              connectRetry: 1,
              channels: [{ family: 'ipv4' }],
            },
          ],
        }),
      );
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
