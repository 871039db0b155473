import { expect, it } from 'vitest';
import { tcpCloseFd, tcpConnect, tcpListen, tcpSetMd5 } from '../src/index.js';

const tooLong = 'k'.repeat(81);

it('refuses a TCP-MD5 key longer than the kernel holds instead of cutting it short', async () => {
  await expect(tcpConnect({ peerAddress: '127.0.0.1', peerPort: 9, md5Key: tooLong })).rejects.toThrow(
    /81 octets long/,
  );
  const fd = tcpListen('127.0.0.1', 0);
  try {
    expect(() => tcpSetMd5(fd, '127.0.0.1', tooLong)).toThrow(RangeError);
    expect(() => tcpSetMd5(fd, '127.0.0.1', 'k'.repeat(80))).not.toThrow();
  } finally {
    tcpCloseFd(fd);
  }
});
