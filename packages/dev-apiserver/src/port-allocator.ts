/**
 * Node port allocation from the service node port range (30000-32767 by default, as the real
 * server's --service-node-port-range), in increasing order from a moving cursor. As the real
 * allocator (KEP-3668), dynamic allocation starts above the static band (the first
 * min(max(16, size/32), 128) ports) and takes from the band only when the rest is full.
 */
export class PortAllocator {
  private readonly used = new Set<number>();
  /** First port above the static band. */
  private readonly dynamicFirst: number;
  private cursor: number;

  constructor(
    readonly first = 30000,
    readonly last = 32767,
  ) {
    const size = last - first + 1;
    // calculateRangeOffset: no static band in ranges smaller than 16.
    this.dynamicFirst = size < 16 ? first : first + Math.min(Math.max(16, Math.floor(size / 32)), 128);
    this.cursor = this.dynamicFirst;
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
    for (let tried = 0; tried <= this.last - this.dynamicFirst; tried++) {
      const port = this.cursor;
      this.cursor = port >= this.last ? this.dynamicFirst : port + 1;
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    for (let port = this.first; port < this.dynamicFirst; port++) {
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
