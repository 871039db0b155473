/**
 * Request body limits shared by both data planes: a size cap (413) and, for time, a whole-request
 * deadline plus a minimum rate (408), the rate as Apache's mod_reqtimeout counts it: the body may
 * take `bodyTimeout`, plus one second for every `minBodyRate` bytes received. A client trickling a
 * body (slow chunked uploads included) cannot hold a pod connection with an unfinished request for
 * longer than that, and never past `requestTimeout`.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface BodyTimeouts {
  /** The whole request (head and body) must arrive within this, ms. */
  readonly requestTimeout: number;
  /** Time allowed for a body before the rate counts, ms. */
  readonly bodyTimeout: number;
  /** Bytes a second that extend the body's allowance by one second each; 0 disables the rate. */
  readonly minBodyRate: number;
}

/** Why a body is too late, or undefined while it is on time. `since`: performance.now() at the request's start. */
export function bodyExpired(
  limits: BodyTimeouts,
  since: number,
  received: number,
  now: number,
): 'timeout' | 'slow_body' | undefined {
  const elapsed = now - since;
  if (elapsed > limits.requestTimeout) return 'timeout';
  if (limits.minBodyRate > 0 && elapsed > limits.bodyTimeout + (received * 1000) / limits.minBodyRate)
    return 'slow_body';
  return undefined;
}

export class BodyTooLarge extends Error {
  readonly code = 'PORTICO_BODY_TOO_LARGE';
}

export class BodyTooSlow extends Error {
  readonly code = 'PORTICO_BODY_TIMEOUT';
}

/**
 * A pass-through stream for a request body on the Node path: fails once more than `max` bytes
 * went through (chunked bodies, 413), or when BodyWatch finds it too slow (408).
 */
export class BodyLimit extends Transform {
  private seen = 0;
  tripped = false;
  /** Set when the body was cut off for time. */
  expired: 'timeout' | 'slow_body' | undefined;
  /** Set when the pod stopped taking the body for longer than `sendTimeout` (a 504, not a 408). */
  podStalled = false;
  readonly since = performance.now();
  /** How often the pod's side asked for more; BodyWatch compares it between two sweeps. */
  pulls = 0;
  /** performance.now() since when bytes sat here unread by the pod's side; 0 while it reads. */
  stalledSince = 0;

  /**
   * `sendTimeout`: ms the pod may leave body bytes unread (proxy-send-timeout); 0: not watched.
   */
  constructor(
    private readonly max: number,
    readonly sendTimeout = 0,
  ) {
    super();
    // The watch may expire a body whose exchange is over (pod answered, client gone, stream
    // reset) and whose consumer stopped listening: that error must not reach the process.
    this.on('error', () => undefined);
  }

  get received(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      this.tripped = true;
      done(new BodyTooLarge(`request body exceeds ${this.max} bytes`));
      return;
    }
    done(null, chunk);
  }

  override _read(size: number): void {
    this.pulls++;
    super._read(size);
  }

  /** The pod took none of the body for sendTimeout: the exchange ends with 504. */
  stall(): void {
    this.podStalled = true;
    this.destroy(new BodyTooSlow('the upstream stopped reading the request body'));
  }

  expire(reason: 'timeout' | 'slow_body'): void {
    this.expired = reason;
    this.destroy(new BodyTooSlow(`request body too slow (${reason})`));
  }
}

/** The Node path's bodies in flight, checked every `interval` ms by one timer. */
export class BodyWatch {
  private readonly bodies = new Set<BodyLimit>();
  /** BodyLimit.pulls at the previous sweep. */
  private readonly pulls = new WeakMap<BodyLimit, number>();
  private timer: NodeJS.Timeout | undefined;
  limits: BodyTimeouts = { requestTimeout: 60_000, bodyTimeout: 10_000, minBodyRate: 1024 };
  interval = 1_000;

  constructor(private readonly onExpired: (reason: 'timeout' | 'slow_body') => void) {}

  add(body: BodyLimit): void {
    this.bodies.add(body);
    const done = (): boolean => this.bodies.delete(body);
    body.once('end', done);
    body.once('close', done);
    this.timer ??= setInterval(() => this.sweep(), this.interval).unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const body of this.bodies) {
      if (body.sendTimeout > 0 && this.podStalls(body, now)) {
        this.bodies.delete(body);
        body.stall();
        continue;
      }
      const reason = bodyExpired(this.limits, body.since, body.received, now);
      if (reason === undefined) continue;
      this.bodies.delete(body);
      this.onExpired(reason);
      body.expire(reason);
    }
    if (this.bodies.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Bytes left unread by the pod's side, with no pull since the last sweep, for sendTimeout. */
  private podStalls(body: BodyLimit, now: number): boolean {
    const pulls = this.pulls.get(body);
    this.pulls.set(body, body.pulls);
    if (body.readableLength === 0 || pulls !== body.pulls) {
      body.stalledSince = 0;
      return false;
    }
    if (body.stalledSince === 0) body.stalledSince = now;
    return now - body.stalledSince >= body.sendTimeout;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.bodies.clear();
  }
}
