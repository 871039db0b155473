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
 * backtracks, so a nested quantifier (`(a+)+`, `(.*)*`) can take exponential time on a crafted
 * path: such patterns are refused, and length is bounded.
 */
export function regexPathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_PATTERN) return `is longer than ${MAX_PATH_PATTERN} characters`;
  if (NESTED_QUANTIFIER.test(path))
    return 'has a quantified group that itself holds a quantifier (catastrophic backtracking)';
  try {
    new RegExp(path, 'i');
  } catch (err) {
    return `is not a regular expression (${(err as Error).message})`;
  }
  return undefined;
}

/** A group holding `+`, `*` or `{` followed by a quantifier: the shape of catastrophic patterns. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]/;

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
