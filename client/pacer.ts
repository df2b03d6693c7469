/**
 * Keeps a socket's outgoing frames under a rate (a token bucket): the backend answers
 * frames beyond its per-socket limit with `rate_limited` and drops them, so a burst — a
 * reconnect that resends every waiting request, an app asking for thirty topics at once —
 * is spread out here instead of being lost there.
 */

/**
 * @example
 * const pacer = new Pacer(15, (text) => ws.send(text));
 * for (const text of burst) pacer.push(text); // 15 now, the rest over the next second
 */
export class Pacer {
  #queue: string[] = [];
  #tokens: number;
  #at = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly write: (text: string) => void,
  ) {
    this.#tokens = perSecond;
  }

  /** Frames waiting for their turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  push(text: string): void {
    this.#queue.push(text);
    this.#flush();
  }

  /** Drops what waits (the connection it was meant for is gone). */
  clear(): void {
    this.#queue = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
  }

  #flush(): void {
    this.#refill();
    while (this.#queue.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.write(this.#queue.shift()!);
    }
    if (this.#queue.length === 0 || this.#timer !== undefined) return;
    const wait = Math.ceil(((1 - this.#tokens) * 1000) / this.perSecond);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, wait);
  }
}
