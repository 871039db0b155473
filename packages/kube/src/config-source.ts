/**
 * Where the controller and the speakers get their configuration from: the v0.12 ConfigMap, or
 * MetalLB's metallb.io custom resources in the same namespace (docs/configuration.md). It watches
 * both and says which configuration is current; what to do with a refused one (keep the last good
 * one in force) is the caller's, through ConfigStatus.
 *
 * - The ConfigMap wins while it exists; deleting it switches to the resources in one step.
 * - Neither a ConfigMap nor any metallb.io configuration resource: `none` (the caller keeps what
 *   is in force, as when the ConfigMap is deleted).
 * - A kind whose CRD is not installed (its list answers 404) counts as having no resources; it is
 *   logged once and looked for again every `crdRecheckMs`, not retried in a loop.
 * - Secrets are read only when a BGPPeer's passwordSecret names them, by name (get), never listed;
 *   read again every `crdRecheckMs`, so a rotated password is taken within that time.
 *
 * The caches keep only what the decoders read (name, namespace, labels and spec; a Secret's type
 * and data). Change notifications are coalesced to one per turn of the event loop, so a list of
 * many resources at start-up is decoded once, not once per resource.
 */
import type { Logger } from 'pino';
import { decodeResources, parseConfig, type Config } from '@portico/config';
import type { ApiClient } from './client/api-client.js';
import type { Listed } from './client/reflector.js';
import { isNotFound } from './errors.js';
import { Informer, runInformer, type RunningInformer } from './informer.js';

/** The object a configuration came from, for Events and the ConfigurationState. */
export interface ConfigObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string };
}

export type ConfigReading =
  | { readonly source: 'none' }
  | {
      readonly source: 'configmap' | 'resources';
      /** Equal keys mean the same input: nothing new to decode or apply. */
      readonly key: string;
      readonly result: { ok: true; config: Config } | { ok: false; errors: string[] };
      /** What MetalLB would silently ignore (resources only). */
      readonly notices: readonly string[];
      /** Where Events about a refusal go: the ConfigMap, or the resources each error names. */
      readonly objects: readonly ConfigObjectRef[];
    };

export interface ConfigSourceOptions {
  api: ApiClient;
  namespace: string;
  configMapName: string;
  logger: Logger;
  /** Called (at most once per turn of the event loop) when any input changed. */
  onChange: () => void;
  /** How often kinds whose CRD was missing are looked for again (default 60 s). */
  crdRecheckMs?: number;
}

/** The metallb.io kinds that configure, with the version read (the stored one). */
export const METALLB_CONFIG_KINDS = [
  { kind: 'IPAddressPool', plural: 'ipaddresspools', version: 'v1beta1' },
  { kind: 'L2Advertisement', plural: 'l2advertisements', version: 'v1beta1' },
  { kind: 'BGPAdvertisement', plural: 'bgpadvertisements', version: 'v1beta1' },
  { kind: 'Community', plural: 'communities', version: 'v1beta1' },
  { kind: 'BFDProfile', plural: 'bfdprofiles', version: 'v1beta1' },
  { kind: 'BGPPeer', plural: 'bgppeers', version: 'v1beta2' },
] as const;

type KindInfo = (typeof METALLB_CONFIG_KINDS)[number];

/** What the caches keep of an object: what decodeResources and parseConfig read. */
export interface CachedResource extends Listed {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec?: unknown;
  /** Kept for IPAddressPools only: the controller writes their counts when they change. */
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  type?: string;
}

function projector(apiVersion: string, kind: string, keep: 'spec' | 'spec+status' | 'data') {
  return (object: Listed): CachedResource => {
    const o = object as Partial<CachedResource>;
    const m = o.metadata ?? {};
    return {
      apiVersion,
      kind,
      metadata: {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        ...(m.labels ? { labels: m.labels } : {}),
      },
      ...(keep === 'data' ? { data: o.data, type: o.type } : { spec: o.spec }),
      ...(keep === 'spec+status' && o.status ? { status: o.status } : {}),
    };
  };
}

export class ConfigSource {
  private readonly configMaps: Informer<CachedResource>;
  private readonly kinds = new Map<string, Informer<CachedResource>>();
  /** Secrets named by passwordSecret, by name; undefined: read, and it does not exist. */
  private readonly secrets = new Map<string, CachedResource | undefined>();
  private readonly running: RunningInformer[] = [];
  private readonly missingKinds = new Set<KindInfo>();
  private recheckTimer: NodeJS.Timeout | undefined;
  private notifyQueued = false;
  private stopped = false;
  private memo: { key: string; reading: ConfigReading } | undefined;

  constructor(private readonly options: ConfigSourceOptions) {
    this.configMaps = new Informer<CachedResource>(
      options.api,
      `/api/v1/namespaces/${options.namespace}/configmaps`,
      {
        fieldSelector: `metadata.name=${options.configMapName}`,
        project: projector('v1', 'ConfigMap', 'data'),
      },
    );
    this.watch(this.configMaps);
  }

  /** Starts the watches; resolves once every cache that can be listed is synced. */
  async start(): Promise<void> {
    const started = [this.startInformer(this.configMaps)];
    const present = await Promise.all(METALLB_CONFIG_KINDS.map((k) => this.served(k)));
    METALLB_CONFIG_KINDS.forEach((info, i) => {
      if (present[i]) started.push(this.startKind(info));
      else this.kindMissing(info);
    });
    await Promise.all(started);
    await this.syncSecrets();
    this.scheduleRecheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.recheckTimer);
    await Promise.all(this.running.map((r) => r.stop()));
  }

  /** The current configuration input, decoded (memoised until an input changes). */
  read(): ConfigReading {
    const { namespace, configMapName } = this.options;
    const cm = this.configMaps.get(configMapName, namespace);
    if (cm) {
      const text = cm.data?.config ?? '';
      const key = `configmap\0${text}`;
      if (this.memo?.key === key) return this.memo.reading;
      const result = parseConfig(text);
      return this.remember(key, { source: 'configmap', key, result, notices: [], objects: [ref(cm)] });
    }
    const resources = [...this.kinds.values()].flatMap((inf) => inf.list(namespace));
    if (resources.length === 0) return { source: 'none' };
    // By code unit, not localeCompare: a collator loads ICU's data, about 3 MiB of RSS (issue 12).
    const order = (r: (typeof resources)[number]) => `${r.kind}/${r.metadata.name}`;
    resources.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    const secrets = [...this.secrets.values()].flatMap((s) => (s ? [s] : []));
    // What the decoder reads, without what changes on every write (resourceVersion, status).
    const inputs = [...resources, ...secrets].map(
      ({ metadata: { resourceVersion: _rv, uid: _uid, ...meta }, status: _status, ...rest }) => ({
        ...rest,
        metadata: meta,
      }),
    );
    const key = `resources\0${JSON.stringify(inputs)}`;
    if (this.memo?.key === key) return this.memo.reading;
    const decoded = decodeResources(inputs, { namespace });
    const result = decoded.ok
      ? { ok: true as const, config: decoded.config }
      : { ok: false as const, errors: decoded.errors };
    const objects = decoded.ok ? resources.map(ref) : namedIn(decoded.errors, resources);
    return this.remember(key, { source: 'resources', key, result, notices: decoded.notices, objects });
  }

  /** The cached IPAddressPools of the namespace, with resourceVersion and status (for status writes). */
  ipAddressPools(): readonly CachedResource[] {
    return this.kinds.get('IPAddressPool')?.list(this.options.namespace) ?? [];
  }

  private remember(key: string, reading: ConfigReading): ConfigReading {
    this.memo = { key, reading };
    return reading;
  }

  private watch(informer: Informer<CachedResource>): void {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, () => this.changed());
  }

  private changed(): void {
    if (this.notifyQueued || this.stopped) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      if (this.stopped) return;
      void this.syncSecrets()
        .catch((err: unknown) =>
          this.options.logger.warn({ err: String(err) }, 'reading BGPPeer Secrets failed'),
        )
        .finally(() => this.options.onChange());
    });
  }

  private startInformer(informer: Informer<CachedResource>): Promise<void> {
    const running = runInformer(informer, (err) => {
      if (!this.stopped)
        this.options.logger.warn({ err: String(err) }, 'configuration watch failed, retrying');
    });
    this.running.push(running);
    return running.synced;
  }

  private startKind(info: KindInfo): Promise<void> {
    const path = `/apis/metallb.io/${info.version}/namespaces/${this.options.namespace}/${info.plural}`;
    const informer = new Informer<CachedResource>(this.options.api, path, {
      project: projector(
        `metallb.io/${info.version}`,
        info.kind,
        info.kind === 'IPAddressPool' ? 'spec+status' : 'spec',
      ),
    });
    this.watch(informer);
    this.kinds.set(info.kind, informer);
    return this.startInformer(informer);
  }

  /** Whether the API server serves the kind (its CRD is installed). */
  private async served(info: KindInfo): Promise<boolean> {
    const path = `/apis/metallb.io/${info.version}/namespaces/${this.options.namespace}/${info.plural}`;
    try {
      await this.options.api.request('GET', path, { query: { limit: 1 } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      // Another failure (API server unreachable): watch it anyway; the informer retries.
      return true;
    }
  }

  private kindMissing(info: KindInfo): void {
    this.missingKinds.add(info);
    this.options.logger.info(
      { event: 'crdMissing', kind: `${info.plural}.metallb.io` },
      `${info.kind} (metallb.io/${info.version}) is not served: its CRD is not installed; read as no ${info.kind} resources`,
    );
  }

  private scheduleRecheck(): void {
    if (this.stopped) return;
    this.recheckTimer = setTimeout(() => void this.recheck(), this.options.crdRecheckMs ?? 60_000);
    this.recheckTimer.unref();
  }

  private async recheck(): Promise<void> {
    for (const info of [...this.missingKinds]) {
      if (this.stopped || !(await this.served(info))) continue;
      this.missingKinds.delete(info);
      this.options.logger.info(
        { event: 'crdFound', kind: `${info.plural}.metallb.io` },
        `${info.kind} is served now`,
      );
      await this.startKind(info);
      this.changed();
    }
    if (!this.stopped && (await this.syncSecrets(true))) this.changed();
    this.scheduleRecheck();
  }

  /**
   * Reads exactly the Secrets the BGPPeers' passwordSecret name, by name (RBAC: get, in the
   * namespace only): when a name first appears, and again every `crdRecheckMs` (a rotated
   * password is noticed then). A Secret that does not exist is remembered as absent.
   */
  private async syncSecrets(refresh = false): Promise<boolean> {
    const wanted = new Set<string>();
    for (const peer of this.kinds.get('BGPPeer')?.list() ?? []) {
      const name = (peer.spec as { passwordSecret?: { name?: unknown } } | undefined)?.passwordSecret?.name;
      if (typeof name === 'string' && name !== '') wanted.add(name);
    }
    let changed = false;
    for (const name of [...this.secrets.keys()]) {
      if (wanted.has(name)) continue;
      this.secrets.delete(name);
      changed = true;
    }
    const project = projector('v1', 'Secret', 'data');
    for (const name of wanted) {
      if ((this.secrets.has(name) && !refresh) || this.stopped) continue;
      let secret: CachedResource | undefined;
      try {
        const path = `/api/v1/namespaces/${this.options.namespace}/secrets/${encodeURIComponent(name)}`;
        secret = project(await this.options.api.request<Listed>('GET', path));
      } catch (err) {
        if (!isNotFound(err)) {
          this.options.logger.warn({ err: String(err), secret: name }, 'reading a BGPPeer Secret failed');
          continue;
        }
      }
      if (this.secrets.has(name) && sameSecret(this.secrets.get(name), secret)) continue;
      this.secrets.set(name, secret);
      changed = true;
    }
    return changed;
  }
}

function sameSecret(a: CachedResource | undefined, b: CachedResource | undefined): boolean {
  return JSON.stringify([a?.type, a?.data]) === JSON.stringify([b?.type, b?.data]);
}

function ref(o: CachedResource): ConfigObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid },
  };
}

/** The resources the errors name (`Kind "name": …`), in error order; the first resource when none. */
function namedIn(errors: readonly string[], resources: readonly CachedResource[]): ConfigObjectRef[] {
  const out = new Map<string, ConfigObjectRef>();
  for (const error of errors) {
    const match = /^(\w+) "([^"]*)"/.exec(error);
    const found = match && resources.find((r) => r.kind === match[1] && r.metadata.name === match[2]);
    if (found) out.set(`${found.kind}/${found.metadata.name}`, ref(found));
  }
  if (out.size === 0 && resources[0]) out.set('first', ref(resources[0]));
  return [...out.values()];
}
