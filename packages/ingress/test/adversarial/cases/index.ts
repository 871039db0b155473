/** Every adversarial case, by class. */
import type { Case } from '../case.js';
import { FRAMING } from './framing.js';
import { HEADERS } from './headers.js';
import { HTTP2 } from './http2.js';
import { PATHS } from './paths.js';
import { PIPELINING } from './pipelining.js';
import { RESPONSES } from './responses.js';
import { SLOW } from './slow.js';
import { UPGRADES } from './upgrades.js';
import { VERSIONS } from './versions.js';

export const ALL_CASES: Case[] = [
  ...FRAMING,
  ...HEADERS,
  ...VERSIONS,
  ...UPGRADES,
  ...PIPELINING,
  ...RESPONSES,
  ...PATHS,
  ...HTTP2,
  ...SLOW,
];
