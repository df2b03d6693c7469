/**
 * The one way either object changes its storage and tells its sockets. A change runs inside
 * one transaction and returns the events it made; only once the transaction has committed are
 * they sent, then its follow-ups run. A change that throws rolls back, and none of its events
 * goes out: the sending cannot happen earlier, because nothing else in an object sends events
 * (`broadcast` and `transactionSync` are called from here only, which `npm run lint` checks).
 * Answers to a request, presence and replays are sent directly: they change nothing stored.
 * Writes that make no event and need no transaction (a client's cursor) are single statements.
 */

/** What a change returns: its events (and, for the room's log, their stored texts). */
export type Committed<E> = { events: readonly E[]; eventTexts?: readonly string[] };

/** Who sends a committed change's events to the sockets; called only with a non-empty list. */
export type EventSink<E> = { broadcast(events: readonly E[], texts?: readonly string[]): void };

export class CommitPath<E> {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sink: EventSink<E>,
  ) {}

  /**
   * Runs `change` in one transaction, then sends its events. A throw rolls the change back and
   * reaches the caller; nothing is sent.
   */
  apply<T extends Committed<E>>(change: () => T): T {
    const result = this.storage.transactionSync(change);
    if (result.events.length) this.sink.broadcast(result.events, result.eventTexts);
    return result;
  }

  /** `apply`, then the change's follow-ups (a summary, an alarm), which see it committed and sent. */
  async run<T extends Committed<E>>(change: () => T, after: (result: T) => Promise<void>): Promise<T> {
    const result = this.apply(change);
    await after(result);
    return result;
  }
}
