/**
 * Where access-log lines go (both formats): a busy proxy finishes dozens of requests in one turn of
 * the event loop, and a write(2) per line was a good part of what the access log cost per request
 * (docs/benchmarks.md). Lines are kept until the end of the turn (setImmediate), or until
 * `limit` characters have piled up, and then written together, synchronously, to `out` (stdout by
 * default, through pino's destination, which retries a full pipe). What is still kept when the
 * process exits is written then; a process killed outright loses at most one turn's lines.
 */
import pino from 'pino';

export interface LineOutput {
  write(text: string): unknown;
}

export class BatchedLines implements LineOutput {
  private pending = '';
  private scheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly out: LineOutput = pino.destination({ dest: 1, sync: true }),
    private readonly limit = 64 * 1024,
  ) {
    process.once('exit', this.flushNow);
  }

  /** Keeps `text` (whole lines) for the next write. */
  write(text: string): boolean {
    this.pending += text;
    if (this.pending.length >= this.limit) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return true;
  }

  /** Writes what is kept now. */
  flush(): void {
    this.scheduled = false;
    const text = this.pending;
    if (text === '') return;
    this.pending = '';
    this.out.write(text);
  }
}
