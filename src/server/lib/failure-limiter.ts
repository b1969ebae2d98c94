export interface FailureLimits {
  /** Failures allowed within the window before any delay. */
  free: number;
  /** The first delay; each further failure in the window doubles it. */
  baseDelayMs: number;
  /** The longest delay. */
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

/**
 * Where the failure times live. A register keeps them in its database (services/sign-in-throttle.ts),
 * so every node sharing it counts the same failures; this in-memory one serves a single process.
 */
export interface FailureStore {
  /** The key's stored failure times (ms since the epoch, oldest first); [] for none. */
  get(key: string): Promise<number[]>;
  /**
   * Replaces the key's list with `change(stored list)`, as one atomic step: two nodes failing
   * at once must both be counted. An empty result forgets the key.
   */
  update(key: string, change: (list: number[]) => number[]): Promise<void>;
}

export class MemoryFailureStore implements FailureStore {
  private readonly failures = new Map<string, number[]>();

  get(key: string): Promise<number[]> {
    return Promise.resolve(this.list(key));
  }

  private list(key: string): number[] {
    return this.failures.get(key) ?? [];
  }

  update(key: string, change: (list: number[]) => number[]): Promise<void> {
    const list = change(this.list(key));
    this.failures.delete(key);
    if (list.length) this.failures.set(key, list);
    // Bound memory under a flood of distinct keys.
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!);
    return Promise.resolve();
  }
}

/**
 * Counts failures per key in a sliding window and answers with growing delays: after `free`
 * failures, the key waits `baseDelayMs` after its latest failure, then twice that after the
 * next one, and so on up to `maxDelayMs`. Used for sign-in: only failed attempts count, so a
 * well-behaved client refreshing its token is never throttled, and a key is delayed rather
 * than locked out for everyone. The rule lives here; the store decides where the counts live.
 */
export class FailureLimiter {
  constructor(
    private readonly limits: FailureLimits,
    private readonly now: () => number = Date.now,
    private readonly store: FailureStore = new MemoryFailureStore(),
  ) {}

  private recent(list: number[]): number[] {
    const cutoff = this.now() - this.limits.windowMs;
    return list.filter((t) => t > cutoff);
  }

  /** The delay owed after `count` failures in the window. */
  private delayMs(count: number): number {
    if (count < this.limits.free) return 0;
    // 2 ** 30 already exceeds any sensible maximum; the cap keeps the exponent finite.
    return Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(30, count - this.limits.free));
  }

  /** Seconds until the key may try again, or 0 when it is not delayed. */
  async blockedFor(key: string): Promise<number> {
    const list = this.recent(await this.store.get(key));
    const wait = list.length ? list[list.length - 1] + this.delayMs(list.length) - this.now() : 0;
    return wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : 0;
  }

  fail(key: string): Promise<void> {
    return this.store.update(key, (stored) => {
      const list = this.recent(stored);
      list.push(this.now());
      // The delay is capped, so failures beyond the one that reaches the cap add nothing.
      if (list.length > this.limits.free + 32) list.shift();
      return list;
    });
  }

  reset(key: string): Promise<void> {
    return this.store.update(key, () => []);
  }
}
