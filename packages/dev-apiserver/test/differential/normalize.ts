/**
 * The normalization: what may legitimately differ between two API servers that behave the same,
 * replaced by stable tokens before the answers are compared. Everything else is compared as is
 * (JSON member order aside). Each rule says why it is there:
 *
 * 1. uids are random: an object's uid becomes `uid(namespace/name#N)`, N counting the objects
 *    of that name (a re-created object gets a new token), and every other mention of the uid
 *    (ownerReferences, messages) the same token.
 * 2. resourceVersions are etcd revisions, and the real server (plus etcd bootstrap and its own
 *    lease renewals) wrote a different number of times: an object's resourceVersion becomes
 *    `namespace/name@N`, N counting that object's versions in order of appearance (a no-op
 *    update must still answer the same token, a write the next one); numbers naming a version
 *    seen before in messages get its token; a list's or bookmark's resourceVersion (the current
 *    revision, bumped by background writes) becomes `rv`, and so do the numbers in
 *    `too old resource version: X (Y)`. Tokens per object keep one difference from shifting
 *    the tokens of every later answer.
 * 3. Server clocks: creationTimestamp, deletionTimestamp and managedFields[].time become `time`;
 *    managedFields entries, which the real server sorts by operation, then time in seconds, then
 *    manager, are sorted by operation, manager, apiVersion and subresource (a second boundary
 *    between two requests must not reorder them). Table cells of the Age column become `age`.
 * 4. Allocation is random on the real server: ClusterIPs and node ports from the dynamic part of
 *    their ranges (the part the real allocators prefer; a requested value comes from the static
 *    part and stays) become `<dynamic IPv4>`, `<dynamic IPv6>`, `<dynamic nodePort>`.
 * 5. A name made from generateName keeps its prefix; the random suffix becomes `<suffix>`.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Static bands (KEP-3070, KEP-3668) of the ranges both servers use: 10.96.0.0/16, fd00:10:96::/112, 30000-32767. */
const STATIC_IPV4 = /^10\.96\.0\.\d+$/;
const DYNAMIC_NODE_PORT_MIN = 30086;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class Normalizer {
  private readonly uids = new Map<string, string>();
  private readonly rvs = new Map<string, string>();
  /** Per object (namespace/name): how many uids and versions were given tokens. */
  private readonly uidCount = new Map<string, number>();
  private readonly rvCount = new Map<string, number>();
  /** Names made from generateName, as seen in earlier answers, for kubectl's text output. */
  private readonly generated = new Map<string, string>();

  /** The token of a uid; OBJECT (namespace/name) names the object it belongs to when it is its own. */
  uid(value: string, object?: string): string {
    let token = this.uids.get(value);
    if (!token) {
      const key = object ?? 'other';
      const n = (this.uidCount.get(key) ?? 0) + 1;
      this.uidCount.set(key, n);
      token = `uid(${key}#${n})`;
      this.uids.set(value, token);
    }
    return token;
  }

  rv(value: string, object?: string): string {
    if (value === '' || value === '0') return value;
    let token = this.rvs.get(value);
    if (!token) {
      if (object === undefined) return 'rv';
      const n = (this.rvCount.get(object) ?? 0) + 1;
      this.rvCount.set(object, n);
      token = `${object}@${n}`;
      this.rvs.set(value, token);
    }
    return token;
  }

  /** A parsed answer (object, list, Table, Status, watch event) with the rules above applied. */
  value(value: unknown): unknown {
    return this.walk(value, []);
  }

  private walk(value: unknown, path: string[]): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, path));
    if (typeof value === 'string') return this.scalar(value, path);
    if (typeof value === 'number') return this.number(value, path);
    if (!isObject(value)) return value;
    const out: Json = {};
    const listLike = 'items' in value || value.kind === 'Table' || isBookmarkObject(value);
    for (const [key, child] of Object.entries(value)) {
      if (key === 'metadata' && isObject(child)) {
        out[key] = this.metadata(child, listLike);
      } else if (key === 'spec' && isObject(child)) {
        out[key] = this.spec(child);
      } else if (key === 'rows' && value.kind === 'Table' && Array.isArray(child)) {
        out[key] = this.tableRows(value, child);
      } else {
        out[key] = this.walk(child, [...path, key]);
      }
    }
    return out;
  }

  private scalar(value: string, path: string[]): string {
    const key = path[path.length - 1];
    if (key === 'uid' && UUID.test(value)) return this.uid(value);
    if (key === 'resourceVersion') return this.rv(value);
    if (key === 'message' || key === 'detail') return this.text(value);
    return value;
  }

  private number(value: number, path: string[]): unknown {
    const key = path[path.length - 1];
    if ((key === 'nodePort' || key === 'healthCheckNodePort') && value >= DYNAMIC_NODE_PORT_MIN)
      return '<dynamic nodePort>';
    return value;
  }

  /** Free text (Status messages, kubectl output): uids, RVs in expiry messages, dynamic values. */
  text(value: string): string {
    let text = tableAges(value);
    for (const [name, token] of this.generated) text = text.replaceAll(name, token);
    return text
      .replace(UUID_IN_TEXT, (uid) => this.uid(uid))
      .replace(
        /(ResourceVersion in (?:record|the precondition) \()(\d+)\)/g,
        (_m, head: string, rv: string) => `${head}${this.rv(rv)})`,
      )
      .replace(/(Too large resource version: )\d+(, current: )\d+/g, '$1rv$2rv')
      .replace(/too old resource version: \d+ \(\d+\)/g, 'too old resource version: rv (rv)')
      .replace(/\b10\.96\.(?!0\.)\d+\.\d+\b/g, '<dynamic IPv4>')
      .replace(/\bfd00:10:96::[0-9a-f]{1,4}\b/g, (ip) => (isDynamicIPv6(ip) ? '<dynamic IPv6>' : ip))
      .replace(/(?<!-)\b3[0-2]\d{3}\b/g, (port) =>
        Number(port) >= DYNAMIC_NODE_PORT_MIN && Number(port) <= 32767 ? '<dynamic nodePort>' : port,
      );
  }

  private metadata(meta: Json, listLike: boolean): Json {
    const out: Json = {};
    const generated =
      typeof meta.generateName === 'string' &&
      typeof meta.name === 'string' &&
      meta.name.startsWith(meta.generateName) &&
      meta.name.length === meta.generateName.length + 5;
    const name = generated ? `${String(meta.generateName)}<suffix>` : String(meta.name ?? '');
    const object = `${typeof meta.namespace === 'string' ? meta.namespace : ''}/${name}`;
    for (const [key, child] of Object.entries(meta)) {
      if (key === 'resourceVersion' && typeof child === 'string') {
        out[key] = listLike ? 'rv' : this.rv(child, object);
      } else if (key === 'uid' && typeof child === 'string' && UUID.test(child)) {
        out[key] = this.uid(child, object);
      } else if ((key === 'creationTimestamp' || key === 'deletionTimestamp') && typeof child === 'string') {
        out[key] = 'time';
      } else if (key === 'managedFields' && Array.isArray(child)) {
        out[key] = child
          .map((entry) =>
            isObject(entry) ? { ...entry, ...('time' in entry ? { time: 'time' } : {}) } : entry,
          )
          .sort(compareManagedFields);
      } else if (key === 'name' && generated) {
        out[key] = name;
        this.generated.set(String(child), name);
      } else if (key === 'continue' && typeof child === 'string') {
        out[key] = child === '' ? '' : 'continue-token';
      } else {
        out[key] = this.walk(child, [key]);
      }
    }
    return out;
  }

  private spec(spec: Json): Json {
    const out = this.walk(spec, ['spec']) as Json;
    const ips = (list: unknown) => (Array.isArray(list) ? list.map((ip) => dynamicIP(ip)) : list);
    if (typeof out.clusterIP === 'string') out.clusterIP = dynamicIP(out.clusterIP);
    if (Array.isArray(out.clusterIPs)) out.clusterIPs = ips(out.clusterIPs);
    return out;
  }

  private tableRows(table: Json, rows: unknown[]): unknown[] {
    const columns = Array.isArray(table.columnDefinitions) ? table.columnDefinitions : [];
    const age = columns.findIndex((c) => isObject(c) && c.name === 'Age');
    return rows.map((row) => {
      if (!isObject(row)) return row;
      const cells = Array.isArray(row.cells)
        ? row.cells.map((cell, i) => (i === age ? 'age' : typeof cell === 'string' ? this.text(cell) : cell))
        : row.cells;
      return { ...(this.walk(row, []) as Json), cells };
    });
  }
}

/**
 * kubectl's tables: the cells of an AGE column (seconds since creation) become `<age>`, and runs
 * of spaces one space (column widths follow values that are normalized, such as dynamic IPs).
 */
function tableAges(text: string): string {
  const lines = text.split('\n');
  if (!/^NAME\s/.test(lines[0] ?? '')) return text;
  const column = lines[0]!.search(/(?<=^|\s)AGE(?=\s|$)/);
  return lines
    .map((line, i) => {
      let out = line;
      if (column >= 0 && i > 0 && line.length > column) {
        const rest = line.slice(column);
        const cell = /^\S+/.exec(rest)?.[0] ?? '';
        out = `${line.slice(0, column)}<age>${rest.slice(cell.length)}`;
      }
      return out.replace(/ {2,}/g, ' ');
    })
    .join('\n');
}

function isBookmarkObject(value: Json): boolean {
  const meta = value.metadata;
  // A BOOKMARK's object carries nothing but a resourceVersion (and maybe annotations).
  return (
    isObject(meta) &&
    Object.keys(meta).every((k) => k === 'resourceVersion' || k === 'annotations') &&
    !('spec' in value) &&
    !('data' in value)
  );
}

function isDynamicIPv6(ip: string): boolean {
  const last = ip.split(':').pop() ?? '';
  // The static band of a /112 is its first 256 addresses.
  return last.length > 2;
}

function dynamicIP(ip: unknown): unknown {
  if (typeof ip !== 'string' || ip === 'None' || ip === '') return ip;
  if (ip.includes(':')) return ip.startsWith('fd00:10:96::') && isDynamicIPv6(ip) ? '<dynamic IPv6>' : ip;
  return ip.startsWith('10.96.') && !STATIC_IPV4.test(ip) ? '<dynamic IPv4>' : ip;
}

function compareManagedFields(a: unknown, b: unknown): number {
  const key = (e: unknown) =>
    isObject(e) ? [e.operation, e.manager, e.apiVersion, e.subresource ?? ''].map(String).join('\u0000') : '';
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

export interface Difference {
  path: string;
  real: unknown;
  dev: unknown;
}

/** The places where two normalized answers differ (member order of objects ignored). */
export function differences(real: unknown, dev: unknown, path = ''): Difference[] {
  if (Array.isArray(real) && Array.isArray(dev)) {
    const out: Difference[] = [];
    const n = Math.max(real.length, dev.length);
    for (let i = 0; i < n; i++) {
      if (i >= real.length) out.push({ path: `${path}[${i}]`, real: undefined, dev: dev[i] });
      else if (i >= dev.length) out.push({ path: `${path}[${i}]`, real: real[i], dev: undefined });
      else out.push(...differences(real[i], dev[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isObject(real) && isObject(dev)) {
    const keys = [...new Set([...Object.keys(real), ...Object.keys(dev)])].sort();
    return keys.flatMap((k) => {
      const child = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
      if (!(k in real)) return [{ path: child, real: undefined, dev: dev[k] }];
      if (!(k in dev)) return [{ path: child, real: real[k], dev: undefined }];
      return differences(real[k], dev[k], child);
    });
  }
  return Object.is(real, dev) || JSON.stringify(real) === JSON.stringify(dev)
    ? []
    : [{ path: path || '.', real, dev }];
}
