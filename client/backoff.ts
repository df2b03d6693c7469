/**
 * When a socket tries again (docs/CLIENT.md, "Reconnects"). A deploy drops every socket of
 * every client at the same instant; were they all to retry on the same schedule, the
 * restarted objects would get each wave at once. So every retry, the first included, waits a
 * random time under a cap that doubles from `minDelay` up to `maxDelay` ("full jitter"): one
 * client comes back within about `minDelay`, a thousand spread over seconds. A server that
 * refuses for load says how long to stay away (429/503 `Retry-After`, or the close code
 * 1013 of PROTOCOL §6); the next retry waits that long plus a random part of up to as long
 * again, so the refused do not all come back together either.
 */

export type BackoffOptions = {
  /** The cap of the first retry's random wait, in ms. */
  minDelay: number;
  /** The largest cap, in ms. */
  maxDelay: number;
};

/**
 * The wait a refusal asks for, in ms, from a `Retry-After` header (seconds, or an HTTP date)
 * or a 1013 close reason (`retry after 3 s`); null when it names none.
 * @example
 * retryAfterMs("3") // 3000
 * retryAfterMs("retry after 2.5 s") // 2500
 */
export function retryAfterMs(text: string | null | undefined, now = Date.now()): number | null {
  if (!text) return null;
  const seconds = /^\s*(?:retry after\s+)?(\d+(?:\.\d+)?)\s*s?\s*$/i.exec(text);
  if (seconds) return Math.round(Number(seconds[1]) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * @example
 * const backoff = new Backoff({ minDelay: 1000, maxDelay: 5000 });
 * await sleep(backoff.next()); // 0–1 s, then 0–2 s, 0–4 s, 0–5 s…
 */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #retries = 0;
  #refusedMs = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Retries since the last reset. */
  get retries(): number {
    return this.#retries;
  }

  /** The wait before the next retry, in ms; counts it. */
  next(): number {
    const { minDelay, maxDelay } = this.#options;
    const cap = Math.min(maxDelay, minDelay * 2 ** this.#retries);
    this.#retries++;
    const refused = this.#refusedMs;
    this.#refusedMs = 0;
    if (refused > 0) return refused * (1 + this.#random());
    return this.#random() * cap;
  }

  /** The server asked for `ms` of quiet before the next attempt (the longest ask wins). */
  refused(ms: number): void {
    this.#refusedMs = Math.max(this.#refusedMs, ms);
  }

  /** A connection that held: the next drop starts from the smallest cap again. */
  reset(): void {
    this.#retries = 0;
    this.#refusedMs = 0;
  }
}
