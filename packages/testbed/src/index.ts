/**
 * @portico/testbed: what end-to-end tests, benchmarks and the lab need to build networks and run
 * real routers. A development tool: no production package imports it, and the image leaves it out.
 */
export { run, sleepSync, waitUntilSync, type RunOptions } from './run.js';
export { createNetns, deleteNetns, ip, listNetns, netnsExec, spawnInNetns, sysctl } from './netns.js';
export {
  addAddress,
  addBridge,
  addVeth,
  attachToBridge,
  loopbackUp,
  setLink,
  type LinkEnd,
} from './links.js';
export { createLoopedNetns, createPair, destroyPair, type PairEnd } from './pair.js';
export { isAlive, readPidFile, signalPidFile, stopPidFile } from './pid-file.js';
export { requireRoot, requireTools } from './prerequisites.js';
export {
  frrBfddConfig,
  frrBgpdConfig,
  type BfdProfile,
  type FrrAddressFamily,
  type FrrBgpConfig,
  type FrrNeighbor,
  type FrrPeerGroup,
  type FrrPeerSettings,
  type FrrTimers,
} from './frr-config.js';
export { Frr, FRR_DIR, frrInstalled, type BfddPeer, type FrrDaemon } from './frr.js';
export {
  Bird,
  BIRD,
  birdConfig,
  birdInstalled,
  type BirdChannel,
  type BirdConfig,
  type BirdSession,
} from './bird.js';
export {
  Gobgp,
  GOBGP_API,
  gobgpConfig,
  gobgpInstalled,
  type GobgpConfig,
  type GobgpNeighbor,
} from './gobgp.js';
export {
  createSegment,
  destroySegment,
  plugIntoSegment,
  type Segment,
  type SegmentMember,
} from './segment.js';
