/**
 * Sends every row of the table to both servers, in table order (each row to both at once, the
 * next row when both answered), normalizes the answers and compares them.
 */
import { parse as parseYaml } from 'yaml';
import type { Client, KubectlResult, RawResponse, Watch } from './harness.js';
import { differences, Normalizer, type Difference } from './normalize.js';
import type { KubectlStep, RestStep, Step, WatchStep } from './steps.js';

export interface Outcome {
  id: string;
  real: unknown;
  dev: unknown;
  differences: Difference[];
}

export interface Side {
  client: Client;
  /** Compacts etcd (the real server); nothing for the development server. */
  compact(): Promise<void>;
}

const WATCH_TIMEOUT_MS = 3000;
/** How long a watch stays open after the expected events arrived, to catch any extra ones. */
const WATCH_GRACE_MS = 60;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

class SideRunner {
  private readonly answers = new Map<string, unknown>();
  private readonly opened = new Map<string, { watch: Watch; count: number }>();
  readonly normalizer = new Normalizer();

  constructor(readonly side: Side) {}

  private fill(text: string): string {
    return text.replace(/\{\{(rv|uid|continue):([^}]+)\}\}/g, (_m, what: string, id: string) => {
      const answer = this.answers.get(id) as { metadata?: Record<string, unknown> } | undefined;
      const key = what === 'rv' ? 'resourceVersion' : what;
      const found = answer?.metadata?.[key];
      const value = what === 'continue' && typeof found === 'string' ? encodeURIComponent(found) : found;
      // A row that failed on one side leaves its placeholders unfilled; the difference shows later.
      return typeof value === 'string' ? value : `missing-${what}-of-${id}`;
    });
  }

  async run(step: Step): Promise<unknown | undefined> {
    if ('compact' in step) {
      await this.side.compact();
      return undefined;
    }
    if ('burst' in step) {
      const { count, method, path, body, contentType } = step.burst;
      for (let i = 0; i < count; i++) {
        const response = await this.side.client.request(
          method,
          this.fill(path),
          { 'content-type': contentType ?? 'application/json' },
          this.fill(JSON.stringify(body(i))),
        );
        if (response.status >= 300) throw new Error(`burst ${step.id}: ${response.status} ${response.text}`);
      }
      return undefined;
    }
    if ('method' in step) return this.rest(step);
    if ('kubectl' in step) return this.kubectl(step);
    if ('watch' in step) return this.watch(step);
    const opened = this.opened.get(step.read);
    if (!opened) throw new Error(`row ${step.id} reads watch ${step.read}, which was not opened`);
    this.opened.delete(step.read);
    return this.finishWatch(opened.watch, opened.count);
  }

  private async rest(step: RestStep): Promise<unknown> {
    const body =
      step.body === undefined
        ? undefined
        : this.fill(typeof step.body === 'string' ? step.body : JSON.stringify(step.body));
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = step.contentType ?? 'application/json';
    if (step.accept) headers.accept = step.accept;
    const response: RawResponse = await this.side.client.request(
      step.method,
      this.fill(step.path),
      headers,
      body,
    );
    const parsed = parse(response.text);
    this.answers.set(step.id, parsed);
    const normalized: Record<string, unknown> = {
      status: response.status,
      body: typeof parsed === 'string' ? this.normalizer.text(parsed) : this.normalizer.value(parsed),
    };
    if (response.warnings.length) normalized.warnings = response.warnings.map((w) => this.normalizer.text(w));
    return normalized;
  }

  private async kubectl(step: KubectlStep): Promise<unknown> {
    const result: KubectlResult = await this.side.client.kubectl(
      step.kubectl.map((a) => this.fill(a)),
      step.stdin === undefined ? undefined : this.fill(step.stdin),
    );
    // JSON and YAML output are compared as data.
    const yaml = step.kubectl.includes('yaml') && result.code === 0;
    const stdout = yaml ? parseYaml(result.stdout) : parse(result.stdout);
    this.answers.set(step.id, stdout);
    return {
      code: result.code,
      stdout: typeof stdout === 'string' ? this.normalizer.text(stdout) : this.normalizer.value(stdout),
      stderr: this.normalizer.text(result.stderr),
    };
  }

  private async watch(step: WatchStep): Promise<unknown | undefined> {
    const path = this.fill(step.watch);
    const watch = this.side.client.watch(`${path}${path.includes('?') ? '&' : '?'}watch=true`);
    if (step.readBy) {
      this.opened.set(step.id, { watch, count: step.count });
      return undefined;
    }
    return this.finishWatch(watch, step.count);
  }

  private async finishWatch(watch: Watch, count: number): Promise<unknown> {
    await watch.waitFor(count, WATCH_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, WATCH_GRACE_MS));
    watch.stop();
    return { status: watch.status, events: watch.events.map((e) => this.normalizer.value(e)) };
  }
}

/** Runs the table; `onOutcome` sees each compared row as it completes. */
export async function runTable(
  steps: readonly Step[],
  real: Side,
  dev: Side,
  onOutcome?: (outcome: Outcome) => void,
): Promise<Outcome[]> {
  const ids = new Set<string>();
  for (const step of steps) {
    if (ids.has(step.id)) throw new Error(`duplicate row id ${step.id}`);
    ids.add(step.id);
  }
  const sides = [new SideRunner(real), new SideRunner(dev)] as const;
  const outcomes: Outcome[] = [];
  for (const step of steps) {
    const [a, b] = await Promise.all(sides.map((s) => s.run(step)));
    if (a === undefined && b === undefined) continue;
    const outcome = { id: step.id, real: a, dev: b, differences: differences(a, b) };
    outcomes.push(outcome);
    onOutcome?.(outcome);
  }
  return outcomes;
}
