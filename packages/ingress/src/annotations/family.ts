/**
 * An annotation family: the settings (names without prefix) one feature reads, and how it turns
 * them into the part of a route's Target it owns. Families are pure and independent of each other,
 * so a feature's annotations live in one file (annotations/<feature>.ts) and are registered in
 * annotations/index.ts.
 */
import type { AnnotationReader } from './read.js';

export interface AnnotationFamily<Policy extends object> {
  readonly names: readonly string[];
  read(reader: AnnotationReader): Policy;
}
