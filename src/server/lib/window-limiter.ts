/**
 * Counts events per key in a sliding window (e.g. anonymous portal starts per client
 * address, and for everyone together). In memory: the register is one process, and a
 * restart forgetting the counts only ever lets a few more through.
 */
export class WindowLimiter {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  private recent(key: string, windowMs: number): number[] {
    const cutoff = this.now() - windowMs;
    const list = (this.events.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.events.set(key, list);
    else this.events.delete(key);
    return list;
  }

  /** Seconds until `key` may have another event under `max` per `windowMs`, or 0. */
  waitFor(key: string, max: number, windowMs: number): number {
    const list = this.recent(key, windowMs);
    if (list.length < max) return 0;
    return Math.max(1, Math.ceil((list[list.length - max] + windowMs - this.now()) / 1000));
  }

  /** Forgets every count (the register's clock and state were replaced, e.g. a sandbox snapshot restored). */
  clear(): void {
    this.events.clear();
  }

  record(key: string, windowMs: number): void {
    const list = this.recent(key, windowMs);
    list.push(this.now());
    this.events.set(key, list);
    // Bound memory under a flood of distinct addresses: forget the oldest key.
    if (this.events.size > 100_000) this.events.delete(this.events.keys().next().value!);
  }
}
