export { connectKube } from './kubeconfig.js';
export { isNotFound } from './errors.js';
export {
  createInformer,
  Informer,
  type ResourceKind,
  runInformer,
  type RunningInformer,
  withoutBookkeeping,
} from './informer.js';
export {
  poolAnnotation,
  type ServiceCondition,
  ServiceStatusWriter,
  withCondition,
} from './service-status.js';
export { EventRecorder, type EventType, maxCachedEvents, maxPendingEvents } from './events.js';
export { LeaderElector } from './leader.js';
export { startOpsServer } from './ops-server.js';
export { applyObject } from './apply.js';
export { ConfigStatus } from './config-status.js';
export { type CachedResource, ConfigSource } from './config-source.js';
export { isOurs, serviceKey } from './load-balancer.js';
export {
  ApiClient,
  ApiError,
  type ApiServerCredentials,
  DEFAULT_CONNECTIONS,
  fileTokenSource,
  inClusterCredentials,
  kubeconfigCredentials,
  type Listed,
  Reflector,
  type ReflectorEvent,
  type TokenSource,
} from './client/index.js';
export { serialPasses } from './serial-passes.js';
export { ConfigurationStateWriter } from './configuration-state.js';
