import { describe, expect, it } from 'vitest';
import { birdConfig } from '../src/bird.js';

describe('birdConfig', () => {
  it('writes sessions with their options and channels', () => {
    const text = birdConfig({
      routerId: '192.0.2.1',
      sessions: [
        {
          name: 'e4',
          local: '192.0.2.1',
          localAs: 65000,
          neighbor: '192.0.2.2',
          neighborAs: 65001,
          connectRetry: 1,
          channels: [{ family: 'ipv4' }, { family: 'ipv6' }],
        },
        {
          name: 'i4',
          local: '192.0.2.11',
          localAs: 65000,
          neighbor: '192.0.2.3',
          neighborAs: 65000,
          direct: true,
          connectRetry: 1,
          password: 's3cret',
          channels: [{ family: 'ipv4', gatewayDirect: true }],
        },
      ],
    });
    expect(text).toBe(
      'router id 192.0.2.1;\n' +
        'protocol device { scan time 10; }\n' +
        'protocol bgp e4 { local 192.0.2.1 as 65000; neighbor 192.0.2.2 as 65001; connect retry time 1;\n' +
        '  ipv4 { import all; export none; }; ipv6 { import all; export none; }; }\n' +
        'protocol bgp i4 { local 192.0.2.11 as 65000; neighbor 192.0.2.3 as 65000; direct; connect retry time 1; password "s3cret";\n' +
        '  ipv4 { import all; export none; gateway direct; }; }\n',
    );
  });

  it('exports to the kernel with multipath, and turns graceful restart off with a hold time', () => {
    const text = birdConfig({
      routerId: '10.0.0.1',
      exportToKernel: true,
      sessions: [
        {
          name: 'node1v4',
          local: '10.0.0.1',
          localAs: 64512,
          neighbor: '10.0.0.11',
          neighborAs: 64513,
          connectRetry: 1,
          holdTime: 9,
          gracefulRestart: false,
          channels: [{ family: 'ipv4' }],
        },
      ],
    });
    expect(text).toContain('protocol kernel { ipv4 { export all; }; merge paths on; }\n');
    expect(text).toContain('protocol kernel { ipv6 { export all; }; merge paths on; }\n');
    expect(text).toContain(
      'protocol bgp node1v4 { local 10.0.0.1 as 64512; neighbor 10.0.0.11 as 64513; connect retry time 1; hold time 9; graceful restart off;\n',
    );
  });
});
