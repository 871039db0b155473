/**
 * The real server's checks on core/v1 Events (legacyValidateEvent; the v1 API skips the rest):
 * an Event lives in the namespace of the object it is about (`involvedObject.namespace`), or in
 * `default` when that object is cluster-scoped; one with an `eventTime` (the new style) needs a
 * reporting component, instance, action and reason.
 */
import { invalid, type FieldError } from './errors.js';
import { isObject, type JsonObject } from './json.js';
import type { ResourceInfo } from './resources.js';
import { isDNS1123Subdomain, isLabelKey } from './validation.js';

export function validateEvent(resource: ResourceInfo, event: JsonObject): void {
  if (resource.group !== '') return;
  const meta = event.metadata as JsonObject;
  const namespace = String(meta.namespace ?? '');
  const involved = isObject(event.involvedObject) ? event.involvedObject : {};
  const objectNamespace = typeof involved.namespace === 'string' ? involved.namespace : '';
  const str = (key: string) => (typeof event[key] === 'string' ? (event[key] as string) : '');
  const errors: FieldError[] = [];
  const mismatch = (): FieldError => ({
    type: 'FieldValueInvalid',
    field: 'involvedObject.namespace',
    value: objectNamespace,
    detail: 'does not match event.namespace',
  });
  const required = (field: string): FieldError => ({ type: 'FieldValueRequired', field, detail: '' });
  const tooLong = (field: string, limit: number): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    value: '',
    detail: `can have at most ${limit} characters`,
  });
  if (event.eventTime === undefined || event.eventTime === null) {
    if (
      objectNamespace === '' ? namespace !== '' && namespace !== 'default' : namespace !== objectNamespace
    ) {
      errors.push(mismatch());
    }
  } else {
    if (objectNamespace === '' && namespace !== 'default' && namespace !== 'kube-system')
      errors.push(mismatch());
    const controller = str('reportingComponent');
    if (controller === '') errors.push(required('reportingComponent'));
    errors.push(
      ...isLabelKey(controller).map((detail): FieldError => ({
        type: 'FieldValueInvalid',
        field: 'reportingComponent',
        value: controller,
        detail,
      })),
    );
    if (str('reportingInstance') === '') errors.push(required('reportingInstance'));
    if (str('reportingInstance').length > 128) errors.push(tooLong('reportingInstance', 128));
    if (str('action') === '') errors.push(required('action'));
    if (str('action').length > 128) errors.push(tooLong('action', 128));
    if (str('reason') === '') errors.push(required('reason'));
    if (str('reason').length > 128) errors.push(tooLong('reason', 128));
    if (str('message').length > 1024) errors.push(tooLong('message', 1024));
  }
  for (const detail of isDNS1123Subdomain(namespace)) {
    errors.push({ type: 'FieldValueInvalid', field: 'namespace', value: namespace, detail });
  }
  if (errors.length) throw invalid(resource, String(meta.name), errors);
}
