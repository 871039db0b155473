/**
 * Node port allocation from the service node port range (30000-32767 by default, as the real
 * server's --service-node-port-range), in increasing order from a moving cursor.
 */
export class PortAllocator {
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(
    readonly first = 30000,
    readonly last = 32767,
  ) {
    this.cursor = first;
  }

  get range(): string {
    return `${this.first}-${this.last}`;
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.first && port <= this.last;
  }

  isAllocated(port: number): boolean {
    return this.used.has(port);
  }

  allocate(port: number): string | undefined {
    if (!this.contains(port))
      return `provided port is not in the valid range. The range of valid ports is ${this.range}`;
    if (this.used.has(port)) return 'provided port is already allocated';
    this.used.add(port);
    return undefined;
  }

  allocateNext(): number | undefined {
    const size = this.last - this.first + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = this.cursor;
      this.cursor = port >= this.last ? this.first : port + 1;
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    return undefined;
  }

  release(port: number): void {
    this.used.delete(port);
  }

  get allocatedCount(): number {
    return this.used.size;
  }
}
