/**
 * Finds where a chunked body ends (RFC 9112 §7.1) in a stream of bytes that are relayed as they
 * are, without decoding them: the client gets the pod's chunks unchanged, we only need to know
 * when the message is over so the connection can carry the next one. Because the bytes reach the
 * client as they came, they are held to the grammar a strict client parser (llhttp) holds them to:
 * CRLF line ends only, at most 12 hex digits of chunk size, extensions as
 * `*( ";" token [ "=" ( token / quoted-string ) ] )` with no whitespace, trailer lines as field
 * lines (token, ":", field-value; no obs-fold), and bounded extension and trailer lines.
 */
const enum State {
  Size,
  ExtStart,
  ExtName,
  ValStart,
  ValToken,
  Quoted,
  QuotedEscape,
  ValEnd,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  LineStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  EndLf,
  Done,
}

const MAX_LINE = 4096;

/** tchar (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

/** field-value and quoted-string text bytes: HTAB, SP, VCHAR, obs-text. */
const isText = (c: number): boolean => c === 0x09 || (c >= 0x20 && c !== 0x7f);

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
      const c = buf[i]!;
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.size, n - i);
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = State.DataCr;
          continue;
        }
        case State.Size: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large');
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) throw new Error('missing chunk size');
          else if (c === 0x0d) this.state = State.SizeLf;
          else if (c === 0x3b) {
            this.state = State.ExtStart;
            this.line = 0;
          } else throw new Error('invalid chunk size');
          break;
        }
        case State.ExtStart:
          if (!TCHAR[c]) throw new Error('invalid chunk extension');
          this.state = State.ExtName;
          break;
        case State.ExtName:
          if (c === 0x3d) this.state = State.ValStart;
          else this.extensionEnd(c);
          break;
        case State.ValStart:
          if (c === 0x22) this.state = State.Quoted;
          else if (TCHAR[c]) this.state = State.ValToken;
          else throw new Error('invalid chunk extension');
          break;
        case State.ValToken:
          this.extensionEnd(c);
          break;
        case State.Quoted:
          if (c === 0x22) this.state = State.ValEnd;
          else if (c === 0x5c) this.state = State.QuotedEscape;
          else if (!isText(c)) throw new Error('invalid chunk extension');
          break;
        case State.QuotedEscape:
          if (!isText(c)) throw new Error('invalid chunk extension');
          this.state = State.Quoted;
          break;
        case State.ValEnd:
          if (c === 0x3b) this.state = State.ExtStart;
          else if (c === 0x0d) this.state = State.SizeLf;
          else throw new Error('invalid chunk extension');
          break;
        case State.SizeLf:
          if (c !== 0x0a) throw new Error('chunk size line not ended by CRLF');
          this.digits = 0;
          if (this.size === 0) this.state = State.LineStart;
          else this.state = State.Data;
          break;
        case State.DataCr:
          if (c !== 0x0d) throw new Error('chunk data not followed by CRLF');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (c !== 0x0a) throw new Error('chunk data not followed by CRLF');
          this.state = State.Size;
          break;
        case State.LineStart:
          if (c === 0x0d) this.state = State.EndLf;
          else if (TCHAR[c]) {
            this.state = State.TrailerName;
            this.line = 0;
          } else throw new Error('invalid trailer line');
          break;
        case State.TrailerName:
          if (c === 0x3a) this.state = State.TrailerValue;
          else if (!TCHAR[c]) throw new Error('invalid trailer field name');
          break;
        case State.TrailerValue:
          if (c === 0x0d) this.state = State.TrailerLf;
          else if (!isText(c)) throw new Error('invalid trailer field value');
          break;
        case State.TrailerLf:
          if (c !== 0x0a) throw new Error('trailer line not ended by CRLF');
          this.state = State.LineStart;
          break;
        case State.EndLf:
          if (c !== 0x0a) throw new Error('chunked body not ended by CRLF');
          this.state = State.Done;
          return i + 1;
        case State.Done:
          return i;
      }
      if (this.state !== State.Size && this.state < State.SizeLf && ++this.line > MAX_LINE)
        throw new Error('chunk extension too long');
      if ((this.state === State.TrailerName || this.state === State.TrailerValue) && ++this.line > MAX_LINE)
        throw new Error('trailer line too long');
      i++;
    }
    return -1;
  }

  /** In an extension name or token value: `;` starts the next extension, CR ends the line. */
  private extensionEnd(c: number): void {
    if (c === 0x3b) this.state = State.ExtStart;
    else if (c === 0x0d) this.state = State.SizeLf;
    else if (!TCHAR[c]) throw new Error('invalid chunk extension');
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
