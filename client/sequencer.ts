/**
 * Exactly-once, in-order delivery of one account's events (PROTOCOL §6 "Delivery").
 * The server sends at least once (live frames and `sync:start` replays, in any mix);
 * this drops what was seen, holds back what came early and says when to ask for a
 * replay. Pure: the caller owns the socket and the storage.
 */

/** Any frame that carries the account's event number (the §6 events and those added later). */
export type SequencedFrame = { type: string; payload: { seq: number } };

/** Where an account's stream stands: the last delivered `seq` and the room's `epoch`. */
export type Position = { seq: number | null; epoch: string | null };

export type SequencerOutput = {
  /** Frames to hand to the app, in order (after `reset`, when both are set). */
  deliver: SequencedFrame[];
  /** The app must forget this account and fetch it again. */
  reset?: { seq: number; epoch: string };
  /** Ask the room for the events after this seq (`sync:start`). */
  syncSince?: number;
};

function emptyOutput(): SequencerOutput {
  return { deliver: [] };
}

/**
 * One account's delivery state across every socket the adapter opens to it.
 * @example
 * const sequencer = new Sequencer({ seq: 41, epoch: "e1" });
 * sequencer.opened();
 * sequencer.registered({ seq: 45, epoch: "e1" }); // { deliver: [], syncSince: 41 }
 * sequencer.event(frameWithSeq42).deliver;        // [frameWithSeq42]
 */
export class Sequencer {
  #seq: number | null;
  #epoch: string | null;
  /** Events that arrived before the ones before them, by seq. */
  #early = new Map<number, SequencedFrame>();
  /** False from a socket's open until the room has told us where it stands. */
  #ready = false;
  #syncing = false;

  constructor(position: Position = { seq: null, epoch: null }) {
    this.#seq = position.seq;
    this.#epoch = position.epoch;
  }

  get position(): Position {
    return { seq: this.#seq, epoch: this.#epoch };
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** A new socket is open: hold events until `registered`, which may reveal a new epoch. */
  opened(): void {
    this.#ready = false;
    this.#syncing = false;
  }

  /** `monitor:registered {seq, epoch}` from the room. */
  registered(room: { seq?: number; epoch?: string }): SequencerOutput {
    const wasReady = this.#ready;
    this.#ready = true;
    const epochChanged = this.#epoch !== null && room.epoch !== undefined && room.epoch !== this.#epoch;
    const roomBehind = this.#seq !== null && room.seq !== undefined && room.seq < this.#seq;
    if (epochChanged || roomBehind) {
      return this.#reset(room.seq ?? 0, room.epoch ?? this.#epoch ?? "");
    }
    if (room.epoch !== undefined) this.#epoch = room.epoch;
    if (this.#seq === null) {
      // A first visit starts at the room's present; events that raced the answer are kept.
      const earliest = Math.min(...this.#early.keys());
      this.#seq = Math.min(room.seq ?? 0, Number.isFinite(earliest) ? earliest - 1 : Infinity);
      return this.#drain();
    }
    const output = this.#drain();
    if (!wasReady && !this.#syncing && room.seq !== undefined && room.seq > this.#seq) {
      output.syncSince = this.#seq;
      this.#syncing = true;
    }
    return output;
  }

  /** A live or replayed event frame. */
  event(frame: SequencedFrame): SequencerOutput {
    const seq = frame.payload.seq;
    if (this.#seq !== null && seq <= this.#seq) return emptyOutput();
    this.#early.set(seq, frame);
    if (!this.#ready) return emptyOutput();
    const output = this.#drain();
    if (this.#early.size > 0 && !this.#syncing) {
      output.syncSince = this.#seq ?? 0;
      this.#syncing = true;
    }
    return output;
  }

  /**
   * `sync:complete {seq, epoch}`, or a failed `sync:start`: the room has sent all it will,
   * so what is held back goes out in order, gaps and all (events the room does not show
   * this role leave gaps that nothing will fill).
   */
  syncComplete(room: { seq?: number; epoch?: string } = {}): SequencerOutput {
    this.#syncing = false;
    if (room.epoch !== undefined) this.#epoch = room.epoch;
    const output = emptyOutput();
    for (const seq of [...this.#early.keys()].sort((a, b) => a - b)) {
      output.deliver.push(this.#early.get(seq)!);
      this.#seq = seq;
    }
    this.#early.clear();
    if (room.seq !== undefined && (this.#seq === null || room.seq > this.#seq)) this.#seq = room.seq;
    return output;
  }

  /** `sync:reset {seq, epoch}`: what the app holds is stale; carry on from the room's present. */
  syncReset(room: { seq: number; epoch: string }): SequencerOutput {
    this.#ready = true;
    return this.#reset(room.seq, room.epoch);
  }

  #reset(seq: number, epoch: string): SequencerOutput {
    this.#syncing = false;
    this.#seq = seq;
    this.#epoch = epoch;
    for (const early of [...this.#early.keys()]) if (early <= seq) this.#early.delete(early);
    const output = this.#drain();
    output.reset = { seq, epoch };
    return output;
  }

  /** Hands out the held-back events that now follow on. */
  #drain(): SequencerOutput {
    const output = emptyOutput();
    if (this.#seq === null) return output;
    for (const seq of [...this.#early.keys()]) if (seq <= this.#seq) this.#early.delete(seq);
    let next = this.#early.get(this.#seq + 1);
    while (next) {
      this.#early.delete(this.#seq + 1);
      output.deliver.push(next);
      this.#seq += 1;
      next = this.#early.get(this.#seq + 1);
    }
    return output;
  }
}
