// The floor's relay (node-floor.mjs, tls-gap.mjs): each client connection gets its own keep-alive
// connection to the pod; a request is relayed as read (no parsing, no header rewriting: the
// benchmarks send bodiless GETs, one per read), the response as read with only its Content-Length
// looked up to know where it ends.
import { connect } from 'node:net';

/** A 'connection' listener relaying each client to `host:port`. */
export function floorRelay(host, port) {
  return (client) => {
    client.setNoDelay(true);
    const pod = connect({ host, port, noDelay: true });
    // Bytes of the current response still to come (head and body), once its head was seen.
    let remaining = 0;
    pod.on('data', (chunk) => {
      if (remaining === 0) {
        const headEnd = chunk.indexOf('\r\n\r\n');
        const length = /content-length: *(\d+)/i.exec(chunk.latin1Slice(0, headEnd));
        remaining = headEnd + 4 + Number(length?.[1] ?? 0);
      }
      remaining -= chunk.length;
      if (remaining < 0) remaining = 0;
      client.write(chunk);
    });
    client.on('data', (chunk) => pod.write(chunk));
    const close = () => {
      client.destroy();
      pod.destroy();
    };
    for (const s of [client, pod]) {
      s.on('error', close);
      s.on('close', close);
    }
  };
}
