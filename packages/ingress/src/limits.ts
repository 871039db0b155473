/** A pass-through stream that fails once more than `max` bytes went through (chunked bodies, 413). */
import { Transform, type TransformCallback } from 'node:stream';

export class BodyTooLarge extends Error {
  readonly code = 'PORTICO_BODY_TOO_LARGE';
}

export class BodyLimit extends Transform {
  private seen = 0;
  tripped = false;

  constructor(private readonly max: number) {
    super();
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
}
