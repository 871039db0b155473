export {
  type AddressPool,
  type BgpAdvertisement,
  type Config,
  type L2Advertisement,
  type LabelSelector,
  type NodeSelector,
  type Peer,
  poolProtocols,
  type ServiceAllocation,
} from './model.js';
export { parseConfig, type ParseResult } from './parse.js';
export { readConfigFile, configKey } from './configmap.js';
export {
  configToJSON,
  type ConfigJSON,
  type PoolJSON,
  type PeerJSON,
  type BgpAdvertisementJSON,
} from './json.js';
export { renderConfig } from './render.js';
export { validateForNativeSpeaker } from './validate.js';
export { parseAddressEntry, lowestMask } from './addresses.js';
export { parseGoDuration } from './duration.js';
export { nodeSelectorsMatch, nodeSelectorMatches } from './selector.js';
export {
  convertConfig,
  k8sName,
  resourcesToYAML,
  defaultConvertNamespace,
  type ConvertOptions,
  type ConvertResult,
  type MetalLBResource,
} from './convert.js';
export {
  decodeResources,
  parseResourceDocuments,
  type DecodeResourcesOptions,
  type NodeInfo,
  type ResourcesResult,
} from './resources.js';
export { poolsForService, serviceAllocationMatches, type ServiceIdentity } from './pool-order.js';
export { parseAnyCommunity, type AnyCommunity } from './community.js';
export { type ResourcesConfigJSON } from './json.js';
export { checkSources, type CheckResult, type CheckSource } from './check.js';
