import type { Step } from '../steps.js';
import { configMaps } from './configmaps.js';
import { endpointSlices } from './endpointslices.js';
import { events } from './events.js';
import { ingresses } from './ingresses.js';
import { leases } from './leases.js';
import { nodes } from './nodes.js';
import { secrets } from './secrets.js';
import { services } from './services.js';
import { watches } from './watches.js';

/** Change events the development server keeps; the compaction rows write more than this. */
export const HISTORY_LIMIT = 150;

export const TABLE: readonly Step[] = [
  ...configMaps,
  ...services,
  ...endpointSlices,
  ...ingresses,
  ...leases,
  ...events,
  ...secrets,
  ...nodes,
  ...watches,
];
