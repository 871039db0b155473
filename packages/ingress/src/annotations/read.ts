/**
 * Reading one Ingress's annotations as ingress-nginx reads them: each setting under its prefix
 * `nginx.ingress.kubernetes.io/` and under ours, `portico.dev/`, which wins when both are set.
 * A value that cannot be used is collected in `bad` (the annotation's full name, the value as
 * written and what was expected) and the setting keeps its default; the compiler reports it as a
 * problem of that Ingress only.
 */

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';
export const PORTICO_PREFIX = 'portico.dev/';

/** An annotation whose value could not be used: its full name and the value as written. */
export interface BadAnnotation {
  readonly annotation: string;
  readonly value: string;
  readonly expected: string;
  /** What happens instead; absent: the setting keeps its default ("ignored"). */
  readonly consequence?: string;
}

/** Go's strconv.ParseBool, which ingress-nginx uses for its boolean annotations. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function parseBoolean(value: string): boolean | undefined {
  return TRUE.has(value) ? true : FALSE.has(value) ? false : undefined;
}

export class AnnotationReader {
  readonly bad: BadAnnotation[] = [];

  /**
   * The settings present, by name without prefix, indexed once: reading a setting is then one map
   * lookup, not a string built per prefix per name (that was a fifth of a 2,000-Ingress compile).
   */
  private readonly settings = new Map<string, { nginx?: string; portico?: string }>();

  constructor(readonly annotations: Readonly<Record<string, string>> = {}) {
    for (const annotation in annotations) {
      const ours = annotation.startsWith(PORTICO_PREFIX);
      if (!ours && !annotation.startsWith(NGINX_PREFIX)) continue;
      const name = annotation.slice((ours ? PORTICO_PREFIX : NGINX_PREFIX).length);
      let setting = this.settings.get(name);
      if (!setting) this.settings.set(name, (setting = {}));
      if (ours) setting.portico = annotations[annotation];
      else setting.nginx = annotations[annotation];
    }
  }

  /** No setting under either prefix is present. */
  get empty(): boolean {
    return this.settings.size === 0;
  }

  /**
   * The setting `name` (without prefix) parsed by `parse`, undefined when absent or unusable under
   * both prefixes. Every unusable value present is added to `bad` with `expected`.
   */
  read<T>(name: string, parse: (value: string) => T | undefined, expected: string): T | undefined {
    const setting = this.settings.get(name);
    if (!setting) return undefined;
    let result: T | undefined;
    for (const [prefix, value] of [
      [NGINX_PREFIX, setting.nginx],
      [PORTICO_PREFIX, setting.portico],
    ] as const) {
      if (value === undefined) continue;
      const parsed = parse(value);
      if (parsed === undefined) this.bad.push({ annotation: prefix + name, value, expected });
      else result = parsed;
    }
    return result;
  }

  boolean(name: string): boolean | undefined {
    return this.read(name, parseBoolean, 'a boolean ("true" or "false")');
  }

  /** The raw value of `name` (ours wins), for settings whose parse needs other settings first. */
  raw(name: string): { annotation: string; value: string } | undefined {
    const setting = this.settings.get(name);
    if (setting?.portico !== undefined) return { annotation: PORTICO_PREFIX + name, value: setting.portico };
    if (setting?.nginx !== undefined) return { annotation: NGINX_PREFIX + name, value: setting.nginx };
    return undefined;
  }

  /** Reports a value found unusable after reading it with raw(); `consequence` when not "ignored". */
  refuse(annotation: string, value: string, expected: string, consequence?: string): void {
    this.bad.push(
      consequence === undefined
        ? { annotation, value, expected }
        : { annotation, value, expected, consequence },
    );
  }
}
