/**
 * Finds where a chunked body ends (RFC 9112 §7.1) in a stream of bytes that are relayed as they
 * are, without decoding them: the client gets the pod's chunks unchanged, we only need to know
 * when the message is over so the connection can carry the next one. Strict: CRLF line ends only,
 * at most 12 hex digits of chunk size, bounded extension and trailer lines.
 */
const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  LineStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
}

const MAX_LINE = 4096;

export class ChunkedScanner {
  private state = State.Size;
  private digits = 0;
  private size = 0;
  private line = 0;

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Scans `buf` from `start`. Returns the index just past the end of the message, -1 when the
   * message continues beyond `buf`, or throws on malformed framing.
   */
  scan(buf: Buffer, start = 0): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.size, n - i);
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = State.DataCr;
          continue;
        }
        case State.Size: {
          const v = hexValue(buf[i]!);
          if (v >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large');
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) throw new Error('missing chunk size');
          else if (buf[i] === 0x0d) this.state = State.SizeLf;
          else if (buf[i] === 0x3b || buf[i] === 0x20 || buf[i] === 0x09) {
            this.state = State.Extension;
            this.line = 0;
          } else throw new Error('invalid chunk size');
          break;
        }
        case State.Extension:
          if (buf[i] === 0x0d) this.state = State.SizeLf;
          else if (buf[i] === 0x0a || ++this.line > MAX_LINE) throw new Error('invalid chunk extension');
          break;
        case State.SizeLf:
          if (buf[i] !== 0x0a) throw new Error('chunk size line not ended by CRLF');
          this.digits = 0;
          if (this.size === 0) this.state = State.LineStart;
          else this.state = State.Data;
          break;
        case State.DataCr:
          if (buf[i] !== 0x0d) throw new Error('chunk data not followed by CRLF');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (buf[i] !== 0x0a) throw new Error('chunk data not followed by CRLF');
          this.state = State.Size;
          break;
        case State.LineStart:
          if (buf[i] === 0x0d) this.state = State.EndLf;
          else {
            this.state = State.Trailer;
            this.line = 0;
          }
          break;
        case State.Trailer:
          if (buf[i] === 0x0d) this.state = State.TrailerLf;
          else if (buf[i] === 0x0a || ++this.line > MAX_LINE) throw new Error('invalid trailer line');
          break;
        case State.TrailerLf:
          if (buf[i] !== 0x0a) throw new Error('trailer line not ended by CRLF');
          this.state = State.LineStart;
          break;
        case State.EndLf:
          if (buf[i] !== 0x0a) throw new Error('chunked body not ended by CRLF');
          this.state = State.Done;
          return i + 1;
        case State.Done:
          return i;
      }
      i++;
    }
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
