/**
 * readConfigFile: what `portico config check FILE` reads. FILE is either a ConfigMap manifest
 * (YAML or JSON; in a multi-document file the ConfigMap named `config` or the only ConfigMap)
 * whose `data.config` holds the configuration, or the bare value of that key. A ConfigMap
 * without the `config` key is an empty, valid configuration, as in MetalLB v0.12.
 */
import { isMap, parseAllDocuments } from 'yaml';
import { parseConfig, type ParseResult } from './parse.js';

/** The data key that holds the configuration. */
export const configKey = 'config';

interface Manifest {
  kind?: unknown;
  metadata?: { name?: unknown };
  data?: unknown;
}

/** Parses a ConfigMap manifest or a bare configuration. */
export function readConfigFile(text: string): ParseResult {
  const configMaps = findConfigMaps(text);
  if (configMaps === undefined || configMaps.length === 0) return parseConfig(text);
  const chosen =
    configMaps.length === 1 ? configMaps[0] : configMaps.find((m) => m.metadata?.name === configKey);
  if (chosen === undefined) {
    return {
      ok: false,
      errors: [`found ${configMaps.length} ConfigMaps and none is named "${configKey}": which one to check?`],
    };
  }
  const data = chosen.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, errors: ['ConfigMap: data: expected a map of strings'] };
  }
  const value = (data as Record<string, unknown>)[configKey];
  if (value === undefined || value === null) return parseConfig('');
  if (typeof value !== 'string') {
    return {
      ok: false,
      errors: [`ConfigMap: data.${configKey}: expected a string (use a block scalar: "config: |")`],
    };
  }
  return parseConfig(value);
}

/**
 * The ConfigMap documents of a file; undefined when the text is not a manifest at all (it may
 * still be a bare configuration, whose own errors parseConfig reports).
 */
function findConfigMaps(text: string): Manifest[] | undefined {
  let documents;
  try {
    documents = parseAllDocuments(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(documents)) return undefined;
  const manifests: Manifest[] = [];
  for (const doc of documents) {
    if (doc.errors.length > 0 || !isMap(doc.contents)) continue;
    const manifest = doc.toJS() as Manifest;
    if (manifest.kind === 'ConfigMap') manifests.push(manifest);
  }
  return manifests;
}
