import { afterEach, describe, expect, it, vi } from 'vitest';
import { portArg, secondsArg } from '../src/args.js';
import { run as controller } from '../src/commands/controller.js';
import { run as ingress } from '../src/commands/ingress.js';

describe('flag values', () => {
  it('portArg takes 0 to 65535 and names the flag otherwise', () => {
    expect(portArg('0', 'metrics-port')).toBe(0);
    expect(portArg('7472', 'metrics-port')).toBe(7472);
    expect(portArg('65535', 'metrics-port')).toBe(65535);
    for (const bad of ['65536', '-1', '1.5', 'abc'])
      expect(() => portArg(bad, 'metrics-port')).toThrow(`--metrics-port: not a port: ${bad}`);
  });

  it('secondsArg gives milliseconds for a non-negative decimal', () => {
    expect(secondsArg('4', 'lease-duration')).toBe(4000);
    expect(secondsArg('0.5', 'lease-duration')).toBe(500);
    for (const bad of ['-1', 'abc', '', '1e3'])
      expect(() => secondsArg(bad, 'lease-duration')).toThrow('--lease-duration: not a number of seconds');
  });
});

describe('portico controller', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a bad --metrics-port or --lease-duration as a usage error, before connecting', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    expect(await controller(['--metrics-port', 'abc'])).toBe(2);
    expect(await controller(['--lease-duration', 'soon'])).toBe(2);
    expect(errors[0]).toMatch(/^--metrics-port: not a port: abc\nusage: portico controller/);
    expect(errors[1]).toMatch(/^--lease-duration: not a number of seconds: soon\n/);
  });
});

describe('portico ingress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a bad --access-log-format or --hsts-max-age as a usage error, naming the value', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    expect(await ingress(['--access-log-format', 'xml'])).toBe(2);
    expect(await ingress(['--hsts-max-age', '1y'])).toBe(2);
    expect(errors[0]).toMatch(
      /^--access-log-format: expected json or combined, got "xml"\nusage: portico ingress/,
    );
    expect(errors[1]).toMatch(/^--hsts-max-age: not a number of seconds: "1y"\nusage: portico ingress/);
  });

  it('refuses a bad --trusted-proxies or --proxy-protocol as a usage error, before connecting', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m));
    expect(await ingress(['--trusted-proxies', '10.0.0.0/8,10.0.0.0/40'])).toBe(2);
    expect(await ingress(['--proxy-protocol', '8080'])).toBe(2);
    expect(await ingress(['--proxy-protocol', 'yes'])).toBe(2);
    expect(errors[0]).toMatch(
      /^--trusted-proxies: "10.0.0.0\/40" is not an IP address or CIDR\nusage: portico ingress/,
    );
    expect(errors[1]).toMatch(
      /^--proxy-protocol: port 8080 is neither the HTTP port \(80\) nor the HTTPS port \(443\)\n/,
    );
    expect(errors[2]).toMatch(/^--proxy-protocol: not a port: "yes"\n/);
  });
});
