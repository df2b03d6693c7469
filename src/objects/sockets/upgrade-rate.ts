/**
 * How fast one object takes socket upgrades (each with its replay) when a herd arrives: a
 * deploy drops every client at once, and they all come back to the restarted object. Up to
 * `perSecond` upgrades pass at once and `perSecond` more each second after; past that an
 * upgrade is refused with a wait (PROTOCOL §6). The refused reserve their place: each one's
 * wait is the backlog ahead of it at the rate the object serves, so a herd is spread over
 * the seconds it needs instead of being told to come back together. Kept in memory: a
 * restarted object starts with a full bucket, which is what the first wave needs.
 */
export class UpgradeRate {
  readonly #perSecond: number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, now = Date.now()) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
    this.#at = now;
  }

  /** 0 when this upgrade may go on now, else how many ms it should wait. */
  take(now = Date.now()): number {
    this.#tokens = Math.min(this.#perSecond, this.#tokens + (Math.max(0, now - this.#at) * this.#perSecond) / 1000);
    this.#at = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#perSecond);
  }
}
