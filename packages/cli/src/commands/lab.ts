/**
 * `portico lab up | status | down`: a thin door to @portico/lab, a development tool that is not
 * part of the product. It is imported only when `portico lab` runs, so the controller, speaker
 * and ingress never load it, and an installation without it (the image) says so plainly.
 */
import type { Command } from '../command.js';

type Lab = typeof import('@portico/lab');

async function loadLab(): Promise<Lab | undefined> {
  try {
    return await import('@portico/lab');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.error(
      'portico lab is a development tool and is not installed here (the image leaves it out): ' +
        'run it from a clone of the repository after `npm ci` (see docs/lab.md)',
    );
    return undefined;
  }
}

function labCommand(name: 'up' | 'status' | 'down'): Command {
  return {
    async run(args) {
      const lab = await loadLab();
      return lab ? lab[name].run(args) : 1;
    },
  };
}

export const up = labCommand('up');
export const status = labCommand('status');
export const down = labCommand('down');
