/**
 * ReferenceGrant (gateway.networking.k8s.io/v1beta1): a reference from one namespace to an object
 * in another is allowed only when a ReferenceGrant in the target's namespace lists the referring
 * kind and namespace under `from` and the target's kind (and name, when given) under `to`.
 */
import type { ReferenceGrant } from './types.js';

export interface CrossNamespaceRef {
  readonly fromGroup: string;
  readonly fromKind: string;
  readonly fromNamespace: string;
  readonly toGroup: string;
  readonly toKind: string;
  readonly toNamespace: string;
  readonly toName: string;
}

export class ReferenceGrants {
  private readonly byNamespace = new Map<string, ReferenceGrant[]>();

  constructor(grants: readonly ReferenceGrant[]) {
    for (const g of grants) {
      const ns = g.metadata?.namespace ?? '';
      const list = this.byNamespace.get(ns);
      if (list) list.push(g);
      else this.byNamespace.set(ns, [g]);
    }
  }

  allows(ref: CrossNamespaceRef): boolean {
    if (ref.fromNamespace === ref.toNamespace) return true;
    return (this.byNamespace.get(ref.toNamespace) ?? []).some(
      (g) =>
        (g.spec?.from ?? []).some(
          (f) => f.group === ref.fromGroup && f.kind === ref.fromKind && f.namespace === ref.fromNamespace,
        ) &&
        (g.spec?.to ?? []).some(
          (t) =>
            (t.group ?? '') === ref.toGroup &&
            t.kind === ref.toKind &&
            (t.name === undefined || t.name === '' || t.name === ref.toName),
        ),
    );
  }
}
