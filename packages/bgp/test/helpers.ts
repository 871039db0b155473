import { Receiver, type ReceiveResult } from '../src/receiver.js';

/** Decodes complete wire messages with a fresh receiver (4-octet AS, eBGP unless told). */
export function receive(
  wire: Uint8Array | Uint8Array[],
  ctx = { fourOctetAs: true, external: true },
  maxLength = 4096,
): ReceiveResult[] {
  const r = new Receiver();
  r.context = ctx;
  r.maxLength = maxLength;
  const parts = Array.isArray(wire) ? wire : [wire];
  return parts.flatMap((p) => r.push(p));
}

export function one(wire: Uint8Array, ctx?: { fourOctetAs: boolean; external: boolean }): ReceiveResult {
  const out = receive(wire, ctx);
  if (out.length !== 1) throw new Error(`expected one message, got ${out.length}`);
  return out[0]!;
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export const MARKER = 'ffffffffffffffffffffffffffffffff';
