// The Gateway API CRDs come from the sigs.k8s.io/gateway-api Go module (module proxy, Go's cache).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayApiCrdFiles } from '../src/gateway-api-crds.js';

describe('gatewayApiCrdFiles', () => {
  it('returns the standard channel CRDs of v1.5.1 from the module', { timeout: 120_000 }, async () => {
    const files = await gatewayApiCrdFiles();
    expect(files.map((f) => basename(f))).toEqual(
      expect.arrayContaining([
        'gateway.networking.k8s.io_gatewayclasses.yaml',
        'gateway.networking.k8s.io_gateways.yaml',
        'gateway.networking.k8s.io_httproutes.yaml',
        'gateway.networking.k8s.io_referencegrants.yaml',
      ]),
    );
    const gateways = readFileSync(
      files.find((f) => f.endsWith('_gateways.yaml'))!,
      'utf8',
    );
    expect(gateways).toContain('gateway.networking.k8s.io/bundle-version: v1.5.1');
    expect(gateways).toContain('gateway.networking.k8s.io/channel: standard');
  });

  it('names the module and version when the download fails', { timeout: 120_000 }, async () => {
    await expect(gatewayApiCrdFiles({ version: 'v0.0.0-no-such-version' })).rejects.toThrow(
      /sigs\.k8s\.io\/gateway-api@v0\.0\.0-no-such-version/,
    );
  });
});
