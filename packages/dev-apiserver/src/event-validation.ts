/**
 * The real server's check on core/v1 Events: an Event lives in the namespace of the object it is
 * about (`involvedObject.namespace`), or in `default` when that object is cluster-scoped.
 */
import { invalid } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';

export function validateEvent(resource: ResourceInfo, event: JsonObject): void {
  if (resource.group !== '') return;
  const meta = event.metadata as JsonObject;
  const involved = isObject(event.involvedObject) ? event.involvedObject : {};
  const objectNamespace = typeof involved.namespace === 'string' ? involved.namespace : '';
  const expected = objectNamespace === '' ? 'default' : objectNamespace;
  if (meta.namespace !== expected) {
    throw invalid(resource, String(meta.name), [
      {
        type: 'FieldValueInvalid',
        field: 'involvedObject.namespace',
        value: objectNamespace,
        detail: 'does not match event.namespace',
      },
    ]);
  }
}
