/** A background loop owned by the register; started after listen, stopped before the database closes. */
export interface Worker {
  name: string;
  start(): void;
  stop(): Promise<void>;
}

/**
 * A Worker that runs one pass at start (so work left by a stop or crash is picked up on
 * restart) and then every `intervalMs`. Passes never overlap: a tick while one runs is skipped,
 * and `stop()` waits for the pass in progress, which checks `stopped` between its batches.
 */
export abstract class PeriodicWorker<R> implements Worker {
  abstract readonly name: string;
  protected stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<R> | null = null;

  constructor(private readonly intervalMs: number) {}

  /** One pass. Reports its own errors (a background pass has nobody to throw to). */
  protected abstract pass(): Promise<R>;

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    void this.runPass();
    this.timer = setInterval(() => void this.runPass(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped = true;
    await this.current;
  }

  /** Starts a pass unless one is running; resolves with the result of the pass in progress. */
  protected runPass(): Promise<R> {
    this.current ??= this.pass().finally(() => (this.current = null));
    return this.current;
  }
}
