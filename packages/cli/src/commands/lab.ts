import type { Command } from '../command.js';

// Placeholder until the lab is implemented.
const notYet: Command = {
  run: async () => {
    console.error('portico lab: not implemented yet');
    return 1;
  },
};
export const up = notYet;
export const status = notYet;
export const down = notYet;
