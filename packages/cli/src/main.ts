/**
 * `portico`: the one command-line entry point. Each subcommand lives in its own module under
 * commands/ and is loaded only when used, so `portico config check` does not load the proxy.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import type { Command } from './command.js';

const commands: Record<string, () => Promise<Command>> = {
  controller: () => import('./commands/controller.js'),
  speaker: () => import('./commands/speaker.js'),
  ingress: () => import('./commands/ingress.js'),
  'ingress check': () => import('./commands/ingress-check.js'),
  'config check': () => import('./commands/config-check.js'),
  'config convert': () => import('./commands/config-convert.js'),
  'bgp peer': () => import('./commands/bgp-peer.js'),
  'l2 announce': () => import('./commands/l2-announce.js'),
  'dev apiserver': () => import('./commands/dev-apiserver.js'),
  'dev kube-apiserver': () => import('./commands/dev-kube-apiserver.js'),
  'lab up': () => import('./commands/lab.js').then((m) => m.up),
  'lab status': () => import('./commands/lab.js').then((m) => m.status),
  'lab down': () => import('./commands/lab.js').then((m) => m.down),
};

function usage(): string {
  return [
    'usage: portico <command> [options]',
    '',
    'commands:',
    ...Object.keys(commands).map((c) => `  ${c}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const load = commands[name];
    if (load) return (await load()).run(argv.slice(words));
  }
  console.error(usage());
  return argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
