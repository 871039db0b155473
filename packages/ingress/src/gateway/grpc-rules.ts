/**
 * One GRPCRoute's rules in the HTTPRoute rule model, which the data plane already serves: a gRPC
 * call is a POST to `/<service>/<method>`, so a method match is a path match (service and method:
 * Exact path; service only: the `/<service>` prefix; method only or RegularExpression: a regular
 * expression over both parts). Each match keeps the lengths of its service and method, which rank
 * it as the GRPCRoute spec orders rules (precedence.ts). Backends are spoken to over h2c whatever
 * their appProtocol: gRPC needs HTTP/2.
 */
import { compileRoute, type CompiledRoute, type RuleContext } from './route-rules.js';
import type { GRPCMethodMatch, GRPCRoute, HTTPRouteMatch } from './types.js';

/** The CRD's own validation of Exact names. */
const SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
/** A service or method part of a path when the match does not name it. */
const ANY_PART = '[^/]+';

export function compileGrpcRoute(route: GRPCRoute, context: RuleContext): CompiledRoute {
  const problems: string[] = [];
  const lengths: { service: number; method: number }[][] = [];
  const rules = (route.spec?.rules ?? []).map((rule, r) => {
    const matches = rule.matches?.length ? rule.matches : [{}];
    lengths.push(
      matches.map((m) => ({
        service: m.method?.service?.length ?? 0,
        method: m.method?.method?.length ?? 0,
      })),
    );
    return {
      ...(rule.name ? { name: rule.name } : {}),
      matches: matches.map((m, k): HTTPRouteMatch => ({
        path: methodPath(m.method, `spec.rules[${r}].matches[${k}].method`, problems),
        ...(m.headers ? { headers: m.headers } : {}),
      })),
      ...(rule.filters ? { filters: rule.filters } : {}),
      ...(rule.backendRefs ? { backendRefs: rule.backendRefs } : {}),
    };
  });
  const compiled = compileRoute(
    { metadata: route.metadata, spec: { parentRefs: route.spec?.parentRefs, rules } },
    { ...context, kind: 'GRPCRoute', protocol: 'h2c' },
  );
  const unsupported = [...problems, ...(compiled.unsupported ? [compiled.unsupported] : [])];
  return {
    ...compiled,
    rules: compiled.rules.map((rule, r) => ({
      ...rule,
      matches: rule.matches.map((m, k) => ({ ...m, grpc: lengths[r]![k]! })),
    })),
    ...(unsupported.length ? { unsupported: unsupported.join('; ') } : {}),
  };
}

/** The path match for a method match; problems are reported with `field` and the value. */
function methodPath(
  method: GRPCMethodMatch | undefined,
  field: string,
  problems: string[],
): { type: string; value: string } {
  if (!method || (method.service === undefined && method.method === undefined))
    return { type: 'PathPrefix', value: '/' };
  const { service, method: name } = method;
  const type = method.type ?? 'Exact';
  if (type === 'Exact') {
    if (service !== undefined && !SERVICE.test(service))
      problems.push(`${field}.service: ${JSON.stringify(service)} is not a gRPC service name`);
    if (name !== undefined && !METHOD.test(name))
      problems.push(`${field}.method: ${JSON.stringify(name)} is not a gRPC method name`);
    if (service !== undefined && name !== undefined) return { type: 'Exact', value: `/${service}/${name}` };
    if (service !== undefined) return { type: 'PathPrefix', value: `/${service}` };
    return { type: 'RegularExpression', value: `/${ANY_PART}/${escape(name!)}` };
  }
  if (type !== 'RegularExpression') {
    problems.push(`${field}.type: ${JSON.stringify(type)} is not supported`);
    return { type: 'PathPrefix', value: '/' };
  }
  for (const [part, pattern] of [
    ['service', service],
    ['method', name],
  ] as const)
    if (pattern !== undefined)
      try {
        new RegExp(pattern);
      } catch (err) {
        problems.push(
          `${field}.${part}: ${JSON.stringify(pattern)} is not a valid regular expression (${(err as Error).message})`,
        );
        return { type: 'PathPrefix', value: '/' };
      }
  return { type: 'RegularExpression', value: `/(?:${service ?? ANY_PART})/(?:${name ?? ANY_PART})` };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
