/**
 * Proxy metrics on a per-instance prom-client Registry (summed across workers by the primary).
 *
 * The two per-request series (request count, latency histogram) are plain Maps keyed by their
 * label values and turned into Prometheus samples only when scraped: prom-client's labelled
 * inc()/observe() hash a label object on every call, which cost a third of the proxy's throughput
 * in profiles. A request finds its series through its route's Target object (observe()), so it
 * builds and hashes no label strings either. The rare events use ordinary prom-client metrics.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** The subset of prom-client's metric contract a Registry needs (get() -> MetricObject). */
abstract class ScrapedMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }
  protected abstract samples(): Sample[];
  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.samples(),
    };
  }
  reset(): void {}
}

class RequestCounter extends ScrapedMetric {
  readonly type = 'counter';
  private readonly series = new Map<string, Sample>();

  /** The series for these labels; callers may keep it and increment `value` directly. */
  sample(status: number, ingress: string, service: string): Sample {
    const key = `${status}\0${ingress}\0${service}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { status: String(status), ingress, service }, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  protected samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

/**
 * Requests an annotation answered or changed (CORS headers on every request of a CORS route): a
 * route finds its series through its Target object, as observe() does, so no labels are hashed.
 */
class PolicyActionCounter extends ScrapedMetric {
  readonly type = 'counter';
  private readonly series = new Map<string, Sample>();
  private readonly byRoute = new WeakMap<object, Map<string, Sample>>();

  inc(route: { readonly ingress: string }, action: string): void {
    let mine = this.byRoute.get(route);
    if (!mine) this.byRoute.set(route, (mine = new Map()));
    let s = mine.get(action);
    if (!s) {
      const key = `${route.ingress}\0${action}`;
      s = this.series.get(key);
      if (!s) {
        s = { labels: { ingress: route.ingress, action }, value: 0 };
        this.series.set(key, s);
      }
      mine.set(action, s);
    }
    s.value++;
  }

  protected samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

interface HistogramSeries {
  labels: Labels;
  counts: Float64Array;
  sum: number;
  count: number;
}

/** One route's series, found by the route's object identity: no label strings built or hashed. */
interface RouteSeries {
  readonly ingress: string;
  readonly service: string;
  readonly byStatus: Map<number, Sample>;
  readonly latency: HistogramSeries;
}

class LatencyHistogram extends ScrapedMetric {
  readonly type = 'histogram';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    help: string,
    registry: Registry,
    private readonly buckets: readonly number[],
  ) {
    super(name, help, registry);
  }

  /** The series for these labels; callers may keep it and pass it to add(). */
  seriesFor(ingress: string, service: string): HistogramSeries {
    const key = `${ingress}\0${service}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ingress, service }, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  add(s: HistogramSeries, seconds: number): void {
    s.sum += seconds;
    s.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (seconds <= this.buckets[i]!) {
        s.counts[i]!++;
        break;
      }
    }
  }

  protected samples(): Sample[] {
    const out: Sample[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        out.push({
          metricName: `${this.name}_bucket`,
          labels: { ...s.labels, le: String(le) },
          value: cumulative,
        });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }
}

/** Client connections and their bytes, per data plane, kept as plain numbers (see traffic). */
export interface PlaneTraffic {
  open: number;
  bytesIn: number;
  bytesOut: number;
}

class TrafficCounter extends ScrapedMetric {
  readonly type = 'counter';
  constructor(
    registry: Registry,
    private readonly traffic: Record<'fast' | 'node', PlaneTraffic>,
  ) {
    super(
      'portico_ingress_bytes_total',
      'Bytes received from (in) and sent to (out) clients, by data plane, counted when a connection closes',
      registry,
    );
  }
  protected samples(): Sample[] {
    return (['fast', 'node'] as const).flatMap((plane) => [
      { labels: { plane, direction: 'in' }, value: this.traffic[plane].bytesIn },
      { labels: { plane, direction: 'out' }, value: this.traffic[plane].bytesOut },
    ]);
  }
}

export class ProxyMetrics {
  /**
   * Client connections: updated by the listeners with plain arithmetic (no label hashing per
   * connection), read when scraped. A connection the fast path hands to Node's server counts under
   * `node` from then on, its bytes too.
   */
  readonly traffic: Record<'fast' | 'node', PlaneTraffic> = {
    fast: { open: 0, bytesIn: 0, bytesOut: 0 },
    node: { open: 0, bytesIn: 0, bytesOut: 0 },
  };
  readonly registry: Registry;
  /** Keyed by the routing table's Target objects (they live as long as their table). */
  private readonly routes = new WeakMap<object, RouteSeries>();
  private unrouted: RouteSeries | undefined;
  readonly requests: RequestCounter;
  readonly duration: LatencyHistogram;
  readonly upstreamErrors: Counter<'service' | 'reason'>;
  readonly upstreamRetries: Counter<'service'>;
  readonly connectionErrors: Counter<'plane' | 'reason'>;
  readonly policyActions: PolicyActionCounter;
  readonly tableVersion: Gauge;
  readonly swaps: Counter;
  readonly affinityCookies: Counter<'service'>;
  readonly admissionRefusals: Counter<'ingress' | 'reason'>;
  /** Connections opened to auth services (auth-url; auth-keepalive* decides how many). */
  readonly forwardAuthConnections: Counter;

  constructor(registry = new Registry()) {
    this.registry = registry;
    this.requests = new RequestCounter(
      'portico_ingress_requests_total',
      'Requests handled, by response status, Ingress (namespace/name) and backend (namespace/service:port)',
      registry,
    );
    this.duration = new LatencyHistogram(
      'portico_ingress_request_duration_seconds',
      'Time from request start to response end, by Ingress and backend',
      registry,
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
    this.upstreamErrors = new Counter({
      name: 'portico_ingress_upstream_errors_total',
      help: 'Failed upstream exchanges by backend and reason (connect, reset, timeout, tls, protocol, other)',
      labelNames: ['service', 'reason'],
      registers: [registry],
    });
    this.upstreamRetries = new Counter({
      name: 'portico_ingress_upstream_retries_total',
      help: 'Requests sent to a pod again after a failed attempt (upstream-policy.ts), by backend',
      labelNames: ['service'],
      registers: [registry],
    });
    this.connectionErrors = new Counter({
      name: 'portico_ingress_connection_errors_total',
      help:
        'Client connections or HTTP/2 streams closed by the proxy for what the client sent, by data plane ' +
        '(fast, node) and reason (exception, version, malformed, path, timeout, slow_body, upgrade, proxy_protocol)',
      labelNames: ['plane', 'reason'],
      registers: [registry],
    });
    this.policyActions = new PolicyActionCounter(
      'portico_ingress_policy_actions_total',
      'Requests an Ingress annotation answered or changed, by Ingress and action (source_denied, ' +
        'redirect, app_root, cors_preflight, cors, rewrite)',
      registry,
    );
    this.tableVersion = new Gauge({
      name: 'portico_ingress_table_version',
      help: 'Version of the routing table this process serves',
      registers: [registry],
      aggregator: 'min',
    });
    this.affinityCookies = new Counter({
      name: 'portico_ingress_affinity_cookies_total',
      help: 'Affinity cookies set (a new client, an unknown value, or its endpoint gone or ejected), by backend',
      labelNames: ['service'],
      registers: [registry],
    });
    this.swaps = new Counter({
      name: 'portico_ingress_table_swaps_total',
      help: 'Routing tables swapped in',
      registers: [registry],
    });
    const traffic = this.traffic;
    new Gauge({
      name: 'portico_ingress_open_connections',
      help: 'Client connections open, by data plane (fast, node)',
      labelNames: ['plane'],
      registers: [registry],
      collect() {
        this.set({ plane: 'fast' }, traffic.fast.open);
        this.set({ plane: 'node' }, traffic.node.open);
      },
    });
    new TrafficCounter(registry, traffic);
    this.admissionRefusals = new Counter({
      name: 'portico_ingress_admission_refusals_total',
      help:
        'Requests answered by the proxy instead of the pod for a route policy, by Ingress and reason ' +
        '(auth: 401; auth_denied: basic auth asked for but impossible, 503; rate, connections: over a limit, 503; ' +
        'client_certificate: a missing or bad client certificate, 400, or auth-tls-match-cn, 403; ' +
        'client_certificate_revoked: one a CRL of ca.crl lists, 400)',
      labelNames: ['ingress', 'reason'],
      registers: [registry],
    });
    this.forwardAuthConnections = new Counter({
      name: 'portico_ingress_forward_auth_connections_total',
      help: 'Connections opened to auth services for auth-url subrequests (auth-keepalive* keeps them open)',
      registers: [registry],
    });
  }

  /** Counts one finished request of `route` (undefined: no rule matched) and its duration. */
  observe(
    route: { readonly ingress: string; readonly backend: string | null } | undefined,
    status: number,
    seconds: number,
  ): void {
    let r = route ? this.routes.get(route) : this.unrouted;
    if (!r) {
      const ingress = route?.ingress ?? '';
      const service = route?.backend ?? '';
      r = { ingress, service, byStatus: new Map(), latency: this.duration.seriesFor(ingress, service) };
      if (route) this.routes.set(route, r);
      else this.unrouted = r;
    }
    let sample = r.byStatus.get(status);
    if (!sample) {
      sample = this.requests.sample(status, r.ingress, r.service);
      r.byStatus.set(status, sample);
    }
    sample.value++;
    this.duration.add(r.latency, seconds);
  }
}
