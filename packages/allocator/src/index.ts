export { Allocator, familiesMatch, familyPlan, type PoolStat } from './allocator.js';
export {
  ANNOTATIONS,
  METALLB_ANNOTATIONS,
  METALLB_IO_ANNOTATIONS,
  readAnnotation,
  readAnnotationWithKey,
  splitIPList,
  type AnnotationName,
  type AnnotationValue,
} from './annotations.js';
export { isBuggyIP } from './block.js';
export type {
  Assignment,
  Check,
  Failure,
  FailureReason,
  IPFamilyPolicy,
  Protocol,
  Result,
  ServicePort,
  ServiceRequest,
} from './service.js';
export { UsedRanges, type Run, type Step } from './used-ranges.js';
