/**
 * Takes the chunked framing (RFC 9112 §7.1) off a pod's response body for an HTTP/2 client, which
 * gets the data in DATA frames and the trailer fields in a HEADERS frame. The bytes reach this only
 * after the pod connection's ChunkedScanner (http1/chunked.ts) held them to the grammar and found
 * the message's end, so this reads them without checking them again: sizes, extensions skipped,
 * data, trailer lines.
 */
const enum State {
  Size,
  /** The rest of a size line (extensions) up to its LF. */
  SizeLine,
  Data,
  /** The CRLF after a chunk's data. */
  DataEnd,
  Trailer,
  Done,
}

/** Trailer lines kept, at most (the scanner bounds each line; this bounds their number). */
const MAX_TRAILERS = 64;

export class ChunkedBody {
  private state = State.Size;
  private size = 0;
  private dataEnd = 0;
  private line = '';
  /** Trailer fields, lower-case names, in the order sent. */
  readonly trailers: [string, string][] = [];

  /** Decodes `buf` from `start`, giving each span of data to `onData` (valid during the call). */
  decode(buf: Buffer, start: number, onData: (data: Buffer) => void): void {
    let i = start;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case State.Size: {
          const c = buf[i]!;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.size = this.size * 16 + digit;
            i++;
          } else this.state = State.SizeLine;
          break;
        }
        case State.SizeLine:
          if (buf[i++] === 0x0a) {
            this.state = this.size === 0 ? State.Trailer : State.Data;
            this.dataEnd = 2;
          }
          break;
        case State.Data: {
          const take = Math.min(this.size, n - i);
          onData(buf.subarray(i, i + take));
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = State.DataEnd;
          break;
        }
        case State.DataEnd:
          i++;
          if (--this.dataEnd === 0) this.state = State.Size;
          break;
        case State.Trailer: {
          const lf = buf.indexOf(0x0a, i);
          const end = lf < 0 ? n : lf;
          this.line += buf.toString('latin1', i, end);
          i = end;
          if (lf < 0) break;
          i++;
          const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
          this.line = '';
          if (line === '') {
            this.state = State.Done;
            break;
          }
          const colon = line.indexOf(':');
          if (this.trailers.length < MAX_TRAILERS)
            this.trailers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
          break;
        }
        case State.Done:
          return;
      }
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
