/**
 * A protocol error found while decoding or running a session. It carries what the NOTIFICATION
 * we send must say (RFC 4271 §4.5), so every decoding failure maps to the right code and subcode.
 */
export class BgpError extends Error {
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Uint8Array = new Uint8Array(0),
  ) {
    super(message);
    this.name = 'BgpError';
  }
}
