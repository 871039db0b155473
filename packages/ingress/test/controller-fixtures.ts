/**
 * Stand-ins for the IngressController's outputs in the Kubernetes-side tests: a table sink that
 * keeps what it is given (nothing is served), and an event sink that notes each Event the
 * controller asks for before passing it on to a real EventRecorder.
 */
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import type { EventSink, RouteTable, TableSink } from '@portico/ingress';
import type { EventType } from '@portico/kube';

/** Keeps the tables it is given; nothing is served (status and Events are what is tested). */
export class RecordingSink implements TableSink {
  tables: RouteTable[] = [];
  publish(table: RouteTable): void {
    this.tables.push(table);
  }
  ready(): boolean {
    return this.tables.length > 0;
  }
  async stop(): Promise<void> {}
}

/** Notes each Event asked for, in the shape a test compares (`note`), and passes it on to `inner`. */
export class CountingEvents<T> implements EventSink {
  calls: T[] = [];
  constructor(
    private readonly inner: EventSink,
    private readonly note: (type: EventType, reason: string, message: string) => T,
  ) {}
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    this.calls.push(this.note(type, reason, message));
    return this.inner.record(obj, type, reason, message);
  }
  remember(event: CoreV1Event): void {
    this.inner.remember?.(event);
  }
}
