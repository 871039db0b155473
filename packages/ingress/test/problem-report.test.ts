/** ProblemReporter on its own: which compiles produce Events, log lines and metric changes. */
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ProblemReporter, type IngressProblem } from '@portico/ingress';

function problem(name: string, reason: IngressProblem['reason'], message: string): IngressProblem {
  return {
    namespace: 'default',
    name,
    uid: `uid-${name}`,
    reason,
    field: 'spec.x',
    message: `spec.x: ${message}`,
  };
}

const missing = problem('a', 'BackendServiceNotFound', 'service "default/s" not found');
const secret = problem('b', 'SecretNotFound', 'secret "default/t" not found');

/** An Event as a previous leader left it in the API. */
function existing(p: IngressProblem, uid: string | undefined = p.uid, type = 'Warning'): CoreV1Event {
  return {
    metadata: { name: `${p.name}.1`, namespace: p.namespace },
    involvedObject: { kind: 'Ingress', namespace: p.namespace, name: p.name, uid },
    type,
    reason: p.reason,
    message: p.message,
    count: 3,
    source: { component: 'portico-ingress' },
  };
}

function setup() {
  const written: [string | undefined, string | undefined, string, string, string][] = [];
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; reason?: string }) },
  );
  const registry = new Registry();
  const reporter = new ProblemReporter({
    registry,
    logger,
    events: {
      record: (obj: KubernetesObject, type, reason, message) => {
        written.push([obj.kind, obj.metadata?.uid, type, reason, message]);
        return Promise.resolve();
      },
    },
  });
  const metric = async (name: string) =>
    Object.fromEntries(
      (await registry.getSingleMetric(name)!.get()).values.map((v) => [String(v.labels.reason), v.value]),
    );
  return { reporter, written, lines, metric };
}

describe('ProblemReporter', () => {
  it('writes Events only while leading, once per problem, and again after the problem came back', () => {
    const { reporter, written } = setup();
    reporter.update([missing]);
    expect(written).toEqual([]);
    reporter.setLeading(true);
    expect(written).toEqual([
      ['Ingress', 'uid-a', 'Warning', 'BackendServiceNotFound', 'spec.x: service "default/s" not found'],
    ]);
    reporter.update([missing, secret]);
    reporter.update([missing, secret]);
    expect(written.map((w) => w[3])).toEqual(['BackendServiceNotFound', 'SecretNotFound']);

    reporter.setLeading(false);
    reporter.update([secret]); // `missing` fixed while following ...
    reporter.update([missing, secret]); // ... and broken again
    expect(written).toHaveLength(2);
    reporter.setLeading(true);
    expect(written.map((w) => w[3])).toEqual([
      'BackendServiceNotFound',
      'SecretNotFound',
      'BackendServiceNotFound',
    ]);
  });

  it('logs and counts a problem when it appears, logs when it is resolved, and gauges the present ones', async () => {
    const { reporter, lines, metric } = setup();
    reporter.update([missing, secret]);
    reporter.update([missing, secret]);
    expect(await metric('portico_ingress_config_problems')).toMatchObject({
      BackendServiceNotFound: 1,
      SecretNotFound: 1,
      RuleConflict: 0,
    });
    reporter.update([secret]);
    expect(lines.map((l) => [l.msg, l.reason])).toEqual([
      ['ingress problem', 'BackendServiceNotFound'],
      ['ingress problem', 'SecretNotFound'],
      ['ingress problem resolved', 'BackendServiceNotFound'],
    ]);
    expect(await metric('portico_ingress_config_problems')).toMatchObject({
      BackendServiceNotFound: 0,
      SecretNotFound: 1,
    });
    reporter.update([missing, secret]);
    expect(await metric('portico_ingress_config_problems_total')).toMatchObject({
      BackendServiceNotFound: 2,
      SecretNotFound: 1,
      InvalidCertificate: 0,
    });
  });

  it('a new leader writes no Event for a problem whose Event already exists, and reports it once it comes back', () => {
    const { reporter, written } = setup();
    const other = problem('c', 'RuleConflict', 'host "x" already defined');
    reporter.update([missing, secret, other]);
    reporter.setLeading(true, [
      existing(missing),
      existing(secret, 'uid-of-an-older-b'), // the Ingress was re-created since: a new object
      existing(other, undefined, 'Normal'),
    ]);
    expect(written.map((w) => w[3])).toEqual(['SecretNotFound', 'RuleConflict']);
    reporter.update([missing, secret, other]);
    reporter.update([secret, other]);
    reporter.update([missing, secret, other]);
    expect(written.map((w) => w[3])).toEqual(['SecretNotFound', 'RuleConflict', 'BackendServiceNotFound']);
  });

  it('a leader elected before its first compile matches that compile against the existing Events', () => {
    const { reporter, written } = setup();
    reporter.setLeading(true, [existing(missing)]);
    expect(written).toEqual([]);
    reporter.update([missing, secret]);
    expect(written.map((w) => w[3])).toEqual(['SecretNotFound']);
    // Matched once: a later fix and relapse is a new occurrence.
    reporter.update([secret]);
    reporter.update([missing, secret]);
    expect(written.map((w) => w[3])).toEqual(['SecretNotFound', 'BackendServiceNotFound']);
  });
});
