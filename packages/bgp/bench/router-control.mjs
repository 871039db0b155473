// Talking to the routers under test without starting a process per question: a persistent client
// for FRR's vty socket and BIRD's control socket, and a bounded wait loop for polling them.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A control-socket client that runs one command at a time (callers are queued), so a poll costs
 * well under a millisecond instead of a process start.
 * FRR's vty socket: command + NUL; the reply ends with three NULs and a status byte.
 * BIRD's socket: a greeting line first; command + newline; the reply ends with the first line
 * that starts with a four-digit code and a space.
 * @param {string} path socket path  @param {'frr' | 'bird'} kind
 */
export function controlClient(path, kind) {
  const socket = connect(path);
  socket.setEncoding('latin1');
  let buf = '';
  let greeted = kind === 'frr';
  let pending; // resolves the command in flight
  let onGreeting;
  const greeting = new Promise((resolve) => (onGreeting = resolve));
  if (greeted) onGreeting();
  const opened = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const replyEnd = () => {
    if (kind === 'frr') {
      const i = buf.indexOf('\0\0\0');
      return i >= 0 && buf.length >= i + 4 ? i + 4 : -1;
    }
    const m = /(^|\n)\d{4} [^\n]*\n/.exec(buf);
    return m ? m.index + m[0].length : -1;
  };
  socket.on('data', (chunk) => {
    buf += chunk;
    if (!greeted) {
      // BIRD says "0001 BIRD x.y.z ready." first.
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      buf = buf.slice(nl + 1);
      greeted = true;
      onGreeting();
    }
    if (!pending) return;
    const end = replyEnd();
    if (end < 0) return;
    const reply = buf.slice(0, end);
    buf = buf.slice(end);
    const p = pending;
    pending = undefined;
    p(reply);
  });
  let queue = Promise.resolve();
  return {
    query(command) {
      const run = async () => {
        await opened;
        await greeting;
        const reply = new Promise((resolve) => (pending = resolve));
        socket.write(kind === 'frr' ? `${command}\0` : `${command}\n`);
        return reply;
      };
      const result = queue.then(run);
      queue = result.catch(() => undefined);
      return result;
    },
    close: () => socket.destroy(),
  };
}

/** Polls `probe` every `everyMs` until it returns a truthy value; bounded in time and count. */
export async function waitUntil(what, probe, timeoutMs = 60_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i <= timeoutMs / everyMs && Date.now() < deadline; i++) {
    const value = await probe();
    if (value) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}
