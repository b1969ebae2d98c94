/**
 * The register's notion of "now". Production uses the system clock; a sandbox register
 * can be advanced (e.g. by 25 days) to exercise expiry without waiting. Everything that
 * reads the time goes through a Clock so tests and the sandbox see one consistent now.
 */
export class Clock {
  private offsetMs: number;

  constructor(offsetMs = 0) {
    this.offsetMs = offsetMs;
  }

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** ISO 8601 UTC with milliseconds: sortable, used for storage. */
  iso(): string {
    return this.now().toISOString();
  }

  get offset(): number {
    return this.offsetMs;
  }

  setOffset(ms: number): void {
    this.offsetMs = ms;
  }

  /** Now plus `ms` as an ISO string. */
  isoIn(ms: number): string {
    return new Date(this.now().getTime() + ms).toISOString();
  }
}

/** API timestamps: UTC ISO 8601 without milliseconds, e.g. 2026-03-24T09:00:00Z. */
export function apiTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  return iso.length === 24 && iso.endsWith('Z') ? `${iso.slice(0, 19)}Z` : iso;
}
