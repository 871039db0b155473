/**
 * The differential suite: every row of the request table goes to a real kube-apiserver (the
 * pinned build, watch cache off so compaction answers 410 at once) and to the development API
 * server, in the same order; the normalized answers must be identical, except for the
 * differences recorded in expected-differences.ts (each written down in docs/dev-apiserver.md).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';
import { startKubeApiServer, type KubeApiServer } from '@portico/dev-kube-apiserver';
import { EXPECTED_DIFFERENCES } from './expected-differences.js';
import { Client } from './harness.js';
import { runTable, type Outcome } from './runner.js';
import { TABLE, HISTORY_LIMIT } from './table/index.js';

/**
 * Rows answered identically when this was last raised; a regression lowers the count and fails.
 * Raise it when a fix or a new row adds identical answers.
 */
const IDENTICAL_AT_LEAST = 469;
const DOCS = new URL('../../../../docs/dev-apiserver.md', import.meta.url);

let real: KubeApiServer;
let dev: DevApiServer;
let work: string;
let clients: Client[] = [];

beforeAll(async () => {
  [real, dev] = await Promise.all([
    startKubeApiServer({ watchCache: false }),
    startDevApiServer({ historyLimit: HISTORY_LIMIT }),
  ]);
  work = mkdtempSync(join(tmpdir(), 'portico-differential-'));
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([real?.close(), dev?.close()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('differential: development API server against kube-apiserver', () => {
  it('answers the request table like the real server', async () => {
    const kubectl = real.binaries.kubectl;
    const realClient = new Client(
      { name: 'real', url: real.url, kubeconfig: real.kubeconfig(), token: real.adminToken, ca: real.caCert },
      kubectl,
      work,
    );
    const devClient = new Client({ name: 'dev', url: dev.url, kubeconfig: dev.kubeconfig() }, kubectl, work);
    clients = [realClient, devClient];
    const outcomes: Outcome[] = await runTable(
      TABLE,
      { client: realClient, compact: async () => void (await real.compact()) },
      { client: devClient, compact: async () => {} },
    );
    const identical = outcomes.filter((o) => o.differences.length === 0).length;
    const expected = Object.keys(EXPECTED_DIFFERENCES).length;
    if (process.env.DIFFERENTIAL_DUMP) {
      writeFileSync(process.env.DIFFERENTIAL_DUMP, JSON.stringify(outcomes, null, 1));
    }
    console.log(
      `differential: ${outcomes.length} requests, ${identical} identical, ${expected} with an expected difference`,
    );

    // Every difference is an expected one, and every expected one is still exactly what it was.
    const unexpected = outcomes
      .filter((o) => o.differences.length > 0 && !EXPECTED_DIFFERENCES[o.id])
      .map((o) => ({ id: o.id, differences: o.differences }));
    expect(unexpected).toEqual([]);
    for (const [id, { differences }] of Object.entries(EXPECTED_DIFFERENCES)) {
      const outcome = outcomes.find((o) => o.id === id);
      expect(outcome, `expected difference ${id} names no row`).toBeDefined();
      expect({ id, differences: outcome!.differences }).toEqual({ id, differences });
    }
    expect(identical).toBeGreaterThanOrEqual(IDENTICAL_AT_LEAST);
    // The documentation lists every intentional difference by its row.
    const docs = readFileSync(DOCS, 'utf8');
    const undocumented = Object.keys(EXPECTED_DIFFERENCES).filter((id) => !docs.includes(`\`${id}\``));
    expect(undocumented).toEqual([]);
  }, 120_000);
});
