// Packet identifiers handed out 1, 2, 3 ... like libmosquitto (MQTT.js starts at a random
// number), so -d traces match mosquitto's. Skips identifiers still in flight; never allocates 0.

export class SequentialMessageIds {
  private last = 0;
  private readonly inUse = new Set<number>();

  /** Advances the counter without reserving: the "mid" of a QoS 0 publish in debug output. */
  skip(): number {
    this.last = this.last === 65535 ? 1 : this.last + 1;
    return this.last;
  }

  allocate(): number | null {
    if (this.inUse.size >= 65535) return null;
    let candidate = this.skip();
    while (this.inUse.has(candidate)) candidate = this.skip();
    this.inUse.add(candidate);
    return candidate;
  }

  getLastAllocated(): number | null {
    return this.last === 0 ? null : this.last;
  }

  register(id: number): boolean {
    if (this.inUse.has(id)) return false;
    this.inUse.add(id);
    return true;
  }

  deallocate(id: number): void {
    this.inUse.delete(id);
  }

  clear(): void {
    this.inUse.clear();
  }
}
