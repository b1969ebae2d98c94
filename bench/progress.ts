/** A one-line progress bar on stderr (redrawn in place on a TTY, a line every 10 % otherwise). */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const now = Date.now();
    const frac = this.total === 0 ? 1 : Math.min(1, done / this.total);
    if (process.stderr.isTTY) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      const rate = done / Math.max(0.001, (now - this.started) / 1000);
      process.stderr.write(
        `\r  ${this.label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)} %  ${done.toLocaleString('en-GB')}/${this.total.toLocaleString('en-GB')}  ${Math.round(rate).toLocaleString('en-GB')}/s   `,
      );
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`  ${this.label}: ${decile * 10} % (${done.toLocaleString('en-GB')}/${this.total.toLocaleString('en-GB')})\n`);
    }
  }

  done(): void {
    this.update(this.total);
    const s = ((Date.now() - this.started) / 1000).toFixed(1);
    if (process.stderr.isTTY) process.stderr.write(` ${s} s\n`);
    else process.stderr.write(`  ${this.label}: done in ${s} s\n`);
  }
}
