/**
 * Path rewriting and regex paths, read as ingress-nginx reads them (internal/ingress/annotations/
 * rewrite, and how its template uses them):
 *
 * - `use-regex: "true"` makes the paths regular expressions. As in ingress-nginx, this holds for
 *   every path of the host, whichever Ingress defines it (the compiler decides per host:
 *   regexMode()), and so does a `rewrite-target` that differs from its path.
 * - `rewrite-target`: the path sent to the pod, with `$1`…`$9` replaced by the path regex's capture
 *   groups. The whole path is replaced (nginx's `rewrite … break`), so `rewrite-target: /` on path
 *   `/app` sends every `/app/…` request to `/`. The query is kept (appended after the target's own).
 * - `app-root`: a request for `/` is redirected (302) to this path.
 *
 * Values are paths: they start with `/` and hold URL characters only (no space, CR or LF: nothing
 * that could end the request line or a header). Anything else is a problem of that Ingress.
 */
import type { AnnotationFamily } from './family.js';

export interface RewriteChoice {
  /** rewrite-target, `$n` placeholders as written. */
  readonly rewriteTarget?: string;
  /** use-regex: "true". */
  readonly useRegex?: true;
  /** app-root: where `/` is redirected (302). */
  readonly appRoot?: string;
}

/** A path as nginx accepts it in a rewrite or a redirect, `$n` included; no whitespace or controls. */
const URL_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const MAX_LENGTH = 1024;

function parsePath(value: string): string | undefined {
  return value.length <= MAX_LENGTH && URL_PATH.test(value) ? value : undefined;
}

const PATH = 'a path starting with "/" (URL characters only, at most 1024)';

export const rewriteAnnotations: AnnotationFamily<RewriteChoice> = {
  names: ['rewrite-target', 'use-regex', 'app-root'],
  read(reader) {
    const choice: { rewriteTarget?: string; useRegex?: true; appRoot?: string } = {};
    const target = reader.read('rewrite-target', parsePath, PATH);
    if (target !== undefined) choice.rewriteTarget = target;
    if (reader.boolean('use-regex') === true) choice.useRegex = true;
    const appRoot = reader.read('app-root', parsePath, PATH);
    if (appRoot !== undefined) choice.appRoot = appRoot;
    return choice;
  },
};

/** Whether a route's path makes its host's paths regexes (ingress-nginx's enforceRegexModifier). */
export function regexMode(choice: RewriteChoice, path: string): boolean {
  return choice.useRegex === true || (choice.rewriteTarget !== undefined && choice.rewriteTarget !== path);
}

/** Longest regex path Portico takes: JavaScript regexes backtrack, so patterns are kept small. */
export const MAX_PATH_PATTERN = 256;

/**
 * Why a regex path cannot be used, or undefined when it can. Patterns are compiled as JavaScript
 * regexes (case-insensitive, anchored at the start: nginx's `~* "^path"`); the syntax ingress-nginx
 * users write (groups, classes, `.*`, `(/|$)`) means the same in both. JavaScript's engine
 * backtracks, so a repeated group whose body can match in more than one way (a quantifier or an
 * alternation inside a group repeated by `+`, `*` or `{}`: `(a+)+`, `(.*)*`, `(a|aa)+`) can take
 * exponential time on a crafted path: such patterns are refused (catastrophicGroup). So are
 * patterns with more than two unbounded repetitions of an atom that matches almost anything (`.`,
 * `[^…]` unless it excludes `/`, `\S`, `\W`, `\D`): each one multiplies the work by the path
 * length (`/.*.*.*x` takes 30 s on a 4 KiB path, `/.*.*x` 11 ms). And the path a regex is tried on
 * is bounded (MAX_REGEX_SUBJECT).
 */
export function regexPathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_PATTERN) return `is longer than ${MAX_PATH_PATTERN} characters`;
  if (catastrophicGroup(path))
    return 'repeats a group that holds a quantifier or an alternation (catastrophic backtracking)';
  if (wideRepetitions(path) > MAX_WIDE_REPETITIONS)
    return `repeats an atom that matches almost anything (\`.*\`, \`.+\`, \`\\S+\`…) more than ${MAX_WIDE_REPETITIONS} times (polynomial backtracking; \`[^/]+\` matches one path segment without that cost)`;
  try {
    new RegExp(path, 'i');
  } catch (err) {
    return `is not a regular expression (${(err as Error).message})`;
  }
  return undefined;
}

/**
 * Whether a group repeated by `+`, `*` or `{…}` holds a quantifier (`+`, `*`, `{`) or an
 * alternation anywhere inside, nested groups included: the shape of exponential backtracking.
 * Escapes and character classes are skipped; `?` (at most once) is not a repetition.
 */
export function catastrophicGroup(pattern: string): boolean {
  const risky: boolean[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
    } else if (c === '(') risky.push(false);
    else if (c === ')') {
      const inner = risky.pop() ?? false;
      const next = pattern[i + 1];
      if (inner && (next === '+' || next === '*' || next === '{')) return true;
      // What a group holds, its enclosing group holds too (so is it repeated there).
      if (inner || next === '+' || next === '*' || next === '{') markRisky(risky);
    } else if (c === '+' || c === '*' || c === '{' || c === '|') markRisky(risky);
  }
  return false;
}

/** Unbounded repetitions of `.`, `[^…]` (without `/`), `\S`, `\W`, `\D` a pattern may hold. */
export const MAX_WIDE_REPETITIONS = 2;

/** How many `*`, `+` or `{n,}` follow an atom that matches almost any character. */
export function wideRepetitions(pattern: string): number {
  let count = 0;
  let wide = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      wide = 'SWD'.includes(pattern[i + 1] ?? '');
      i++;
    } else if (c === '[') {
      // A negated class is wide unless it excludes '/': `[^/]+` stays within one path segment.
      const start = i;
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      wide = pattern[start + 1] === '^' && !pattern.slice(start + 2, i).includes('/');
    } else if (c === '*' || c === '+') {
      if (wide) count++;
      wide = false;
    } else if (c === '{') {
      const close = pattern.indexOf('}', i);
      if (wide && close > 0 && /^\d*,$/.test(pattern.slice(i + 1, close))) count++;
      wide = false;
      if (close > 0) i = close;
    } else wide = c === '.';
  }
  return count;
}

/**
 * Paths longer than this are not tried on regex paths (they match none: the host's default backend
 * or 404), so that what a pattern may cost stays bounded whatever the client sends.
 */
export const MAX_REGEX_SUBJECT = 4096;

function markRisky(stack: boolean[]): void {
  if (stack.length > 0) stack[stack.length - 1] = true;
}

/** The compiled form of a regex path (done in the worker, once per table). */
export function pathRegex(path: string): RegExp {
  return new RegExp(`^(?:${path})`, 'i');
}

/**
 * The target sent to the pod: `template` with `$1`…`$9` from `match`, then the request's query
 * (`query` with its `?`, or ''): after the template's own query with `&`, dropped when the template
 * ends with `?` (nginx's rewrite rules).
 */
export function rewrittenTarget(template: string, match: RegExpExecArray, query: string): string {
  let out = template.includes('$')
    ? template.replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? '')
    : template;
  if (out.endsWith('?')) return out.slice(0, -1);
  if (query !== '') out += out.includes('?') ? `&${query.slice(1)}` : query;
  return out;
}
