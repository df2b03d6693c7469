/**
 * Token buckets kept in a Durable Object's memory. Losing them when the object is evicted is
 * harmless: eviction only follows a quiet spell longer than any window here.
 */
export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

/** At most `capacity` events at once, refilled at `capacity` per `periodMs`, per key. */
export class RateLimiter<K = string> {
  private readonly buckets = new Map<K, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly periodMs: number,
  ) {}

  take(key: K, now = Date.now()): Verdict {
    const rate = this.capacity / this.periodMs;
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / rate) };
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.forgetFull(now);
    return { ok: true };
  }

  /** Drops buckets that have refilled completely: they hold nothing a new bucket wouldn't. */
  private forgetFull(now: number): void {
    const rate = this.capacity / this.periodMs;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * rate >= this.capacity) this.buckets.delete(key);
    }
  }
}
