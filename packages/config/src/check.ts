/**
 * What `portico config check` checks, without the file system: the texts of one file or of every
 * file of a directory. When any document is a metallb.io resource, the texts are MetalLB custom
 * resources (decodeResources); otherwise they hold the v0.12 ConfigMap (or the bare value of its
 * `config` key), read as before. Either way the built-in speaker's own limits are checked too.
 */
import { readConfigFile } from './configmap.js';
import type { ParseResult } from './parse.js';
import { isMap } from './resource-fields.js';
import { decodeResources, parseResourceDocuments, type ResourcesResult } from './resources.js';
import { validateForNativeSpeaker } from './validate.js';

export interface CheckSource {
  /** A file name, for error messages. */
  readonly source: string;
  readonly text: string;
}

export type CheckResult =
  | { readonly format: 'configmap'; readonly result: ParseResult }
  | { readonly format: 'resources'; readonly result: ResourcesResult };

function isMetalLB(object: unknown): boolean {
  if (!isMap(object)) return false;
  if (object.kind === 'List' && Array.isArray(object.items)) return object.items.some(isMetalLB);
  return typeof object.apiVersion === 'string' && object.apiVersion.startsWith('metallb.io/');
}

export function checkSources(
  sources: readonly CheckSource[],
  options: { namespace?: string } = {},
): CheckResult {
  const parsed = sources.map((s) => ({ ...s, ...parseResourceDocuments(s.text, s.source) }));
  if (!parsed.some((p) => p.objects.some(isMetalLB))) {
    const text = sources.length === 1 ? (sources[0]?.text ?? '') : sources.map((s) => s.text).join('\n---\n');
    const result = readConfigFile(text);
    if (!result.ok) return { format: 'configmap', result };
    const speakerErrors = validateForNativeSpeaker(result.config);
    return {
      format: 'configmap',
      result: speakerErrors.length > 0 ? { ok: false, errors: speakerErrors } : result,
    };
  }
  const parseErrors = parsed.flatMap((p) => p.errors);
  const objects = parsed.flatMap((p) => p.objects);
  const isConfigMap = (o: Record<string, unknown>) => o.kind === 'ConfigMap' && o.apiVersion === 'v1';
  const configMaps = objects.filter(isConfigMap);
  const decoded = decodeResources(
    objects.filter((o) => !isConfigMap(o)),
    options,
  );
  const notices = [
    ...(configMaps.length > 0
      ? [
          'a ConfigMap is given too: where Portico finds its ConfigMap "config", that is in force and the metallb.io resources are not read (see docs/migrating-from-metallb.md)',
        ]
      : []),
    ...decoded.notices,
  ];
  const speakerErrors = decoded.ok ? validateForNativeSpeaker(decoded.config) : [];
  const errors = [...parseErrors, ...(decoded.ok ? [] : decoded.errors), ...speakerErrors];
  if (errors.length > 0 || !decoded.ok)
    return { format: 'resources', result: { ok: false, errors, notices } };
  return { format: 'resources', result: { ok: true, config: decoded.config, notices } };
}
