/**
 * The frames of recent replays, so a herd of clients resuming from the same `seq` costs
 * about one replay: the events are read and framed once, and the same texts are sent to
 * each socket. Valid only while the log has not moved: a new event (a new `seq`) empties it.
 * Held in memory only; a replay bigger than the budget is built each time, never kept.
 */

/** A replay's batch frames in order, and how many events they carry. */
export type ReplayFrames = { batches: string[]; total: number };

/** Most bytes of frames kept at once. */
const MAX_CACHED_BYTES = 8 * 1024 * 1024;

export class ReplayCache {
  #version = "";
  #bytes = 0;
  readonly #entries = new Map<string, ReplayFrames>();

  /**
   * The replay after `since` for readers (`admin` or not) of the log as it is at `version`
   * (its epoch and `seq`): cached, or built by `build` and kept when it fits.
   * @example
   * const { batches, total } = cache.frames(`${epoch}:${seq}`, since, admin, () => readReplay(since, admin));
   */
  frames(version: string, since: number, admin: boolean, build: () => ReplayFrames): ReplayFrames {
    if (version !== this.#version) {
      this.#entries.clear();
      this.#bytes = 0;
      this.#version = version;
    }
    const key = `${since}:${admin ? "admin" : "agent"}`;
    const cached = this.#entries.get(key);
    if (cached) return cached;
    const built = build();
    const bytes = built.batches.reduce((sum, text) => sum + text.length, 0);
    if (this.#bytes + bytes <= MAX_CACHED_BYTES) {
      this.#entries.set(key, built);
      this.#bytes += bytes;
    }
    return built;
  }
}
