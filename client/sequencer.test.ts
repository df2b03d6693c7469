import { describe, expect, it } from "vitest";
import { Sequencer } from "./sequencer";
import type { SequencedFrame, SequencerOutput } from "./sequencer";

const event = (seq: number): SequencedFrame => ({ type: "channel:message", payload: { seq } });
const seqs = (output: SequencerOutput) => output.deliver.map((frame) => frame.payload.seq);

function resumed(seq: number, epoch = "e1"): Sequencer {
  const sequencer = new Sequencer({ seq, epoch });
  sequencer.opened();
  return sequencer;
}

describe("Sequencer", () => {
  it("delivers events in order and drops the ones already delivered", () => {
    const sequencer = resumed(10);
    expect(seqs(sequencer.registered({ seq: 10, epoch: "e1" }))).toEqual([]);
    expect(seqs(sequencer.event(event(11)))).toEqual([11]);
    expect(seqs(sequencer.event(event(11)))).toEqual([]);
    expect(seqs(sequencer.event(event(9)))).toEqual([]);
    expect(sequencer.position).toEqual({ seq: 11, epoch: "e1" });
  });

  it("holds back events that came early and asks for the gap once", () => {
    const sequencer = resumed(10);
    sequencer.registered({ seq: 10, epoch: "e1" });
    const early = sequencer.event(event(13));
    expect(seqs(early)).toEqual([]);
    expect(early.syncSince).toBe(10);
    expect(sequencer.event(event(14)).syncSince).toBeUndefined();
    expect(seqs(sequencer.event(event(11)))).toEqual([11]);
    expect(seqs(sequencer.event(event(12)))).toEqual([12, 13, 14]);
  });

  it("holds everything between a socket's open and `monitor:registered`", () => {
    const sequencer = resumed(10);
    expect(seqs(sequencer.event(event(11)))).toEqual([]);
    expect(seqs(sequencer.registered({ seq: 11, epoch: "e1" }))).toEqual([11]);
  });

  it("a replay with duplicates and a live event in the middle comes out once, in order", () => {
    const sequencer = resumed(3);
    const delivered: number[] = [];
    for (const seq of [4, 5, 4, 6, 5, 7]) delivered.push(...seqs(sequencer.event(event(seq))));
    delivered.push(...seqs(sequencer.syncComplete({ seq: 7, epoch: "e1" })));
    delivered.push(...seqs(sequencer.registered({ seq: 7, epoch: "e1" })));
    delivered.push(...seqs(sequencer.event(event(7))), ...seqs(sequencer.event(event(8))));
    expect(delivered).toEqual([4, 5, 6, 7, 8]);
  });

  it("asks for a replay when the room is ahead and nothing was replayed", () => {
    const sequencer = resumed(10);
    expect(sequencer.registered({ seq: 15, epoch: "e1" }).syncSince).toBe(10);
  });

  it("sync:complete hands out what is held back even across gaps nobody will fill", () => {
    const sequencer = resumed(10);
    sequencer.registered({ seq: 10, epoch: "e1" });
    sequencer.event(event(12));
    sequencer.event(event(14));
    expect(seqs(sequencer.syncComplete({ seq: 14, epoch: "e1" }))).toEqual([12, 14]);
    expect(sequencer.position.seq).toBe(14);
    expect(seqs(sequencer.event(event(15)))).toEqual([15]);
  });

  it("sync:complete moves the position to the room's seq", () => {
    const sequencer = resumed(10);
    sequencer.syncComplete({ seq: 12, epoch: "e1" });
    expect(sequencer.position).toEqual({ seq: 12, epoch: "e1" });
  });

  it("sync:reset reports a reset and carries on from the room's present", () => {
    const sequencer = resumed(10, "old");
    sequencer.event(event(3));
    const output = sequencer.syncReset({ seq: 4, epoch: "new" });
    expect(output.reset).toEqual({ seq: 4, epoch: "new" });
    expect(seqs(output)).toEqual([]);
    expect(seqs(sequencer.event(event(5)))).toEqual([5]);
  });

  it("a new epoch in `monitor:registered` is a reset", () => {
    const sequencer = resumed(10, "old");
    expect(sequencer.registered({ seq: 2, epoch: "new" }).reset).toEqual({ seq: 2, epoch: "new" });
    expect(sequencer.position).toEqual({ seq: 2, epoch: "new" });
  });

  it("a room behind the client (same epoch) is a reset, not a silent gap", () => {
    const sequencer = resumed(10);
    expect(sequencer.registered({ seq: 8, epoch: "e1" }).reset).toEqual({ seq: 8, epoch: "e1" });
  });

  it("a first visit starts at the room's present but keeps live events that raced the answer", () => {
    const sequencer = new Sequencer();
    sequencer.opened();
    sequencer.event(event(21));
    expect(seqs(sequencer.registered({ seq: 21, epoch: "e1" }))).toEqual([21]);
    expect(seqs(sequencer.event(event(22)))).toEqual([22]);

    const quiet = new Sequencer();
    quiet.opened();
    expect(seqs(quiet.registered({ seq: 30, epoch: "e1" }))).toEqual([]);
    expect(quiet.position).toEqual({ seq: 30, epoch: "e1" });
  });

  it("a first visit resumed from the server's cursor delivers the replay", () => {
    const sequencer = new Sequencer();
    sequencer.opened();
    sequencer.event(event(6));
    sequencer.event(event(7));
    expect(seqs(sequencer.syncComplete({ seq: 7, epoch: "e1" }))).toEqual([6, 7]);
    expect(seqs(sequencer.registered({ seq: 7, epoch: "e1" }))).toEqual([]);
  });

  it("a second `monitor:registered` on the same socket does not ask again", () => {
    const sequencer = resumed(10);
    sequencer.registered({ seq: 10, epoch: "e1" });
    expect(sequencer.registered({ seq: 12, epoch: "e1" }).syncSince).toBeUndefined();
  });
});
