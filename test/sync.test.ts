import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { REPLAY_PAGE } from "../src/objects/room/delivery/fanout";
import { comment, connect, push, roomSocket, token, uid } from "./helpers";

/** Pushes `n` single-comment snapshots; each makes 2 events (the comment and its topic). */
async function pushComments(account: string, from: number, n: number) {
  let seq = 0;
  for (let i = from; i < from + n; i++) seq = (await push(account, { comments: [comment(`c${i}`, "w1")] })).json.seq;
  return seq;
}

/** An account whose log is longer than a replay page: 1,200 comments in two pushes (1,206 events). */
async function longLog() {
  const account = uid("acc");
  const comments = (from: number) => Array.from({ length: 600 }, (_, i) => comment(`c${from + i}`, `w${i % 3}`));
  await push(account, { comments: comments(0) });
  const { json } = await push(account, { comments: comments(600) });
  return { account, json };
}

describe("sync:start", () => {
  it("replays exactly the missed events, in order, then sync:complete", async () => {
    const account = uid("acc");
    const seenUpTo = await pushComments(account, 0, 2);
    const socket = await roomSocket(account);
    const registered = await socket.request(
      "monitor:register",
      { clientId: "desk-1", clientType: "monitor" },
      "monitor:registered",
    );
    socket.close();
    const latest = await pushComments(account, 2, 3); // missed while away
    const again = await roomSocket(account);
    const complete = await again.request(
      "sync:start",
      { since: seenUpTo, epoch: registered.payload.epoch },
      "sync:complete",
    );
    const replayed = again.events();
    expect(replayed.map((f) => f.payload.seq)).toEqual(
      Array.from({ length: latest - seenUpTo }, (_, i) => seenUpTo + 1 + i),
    );
    expect(replayed.filter((f) => f.type === "channel:message").map((f) => f.payload.message.id)).toEqual([
      "c2",
      "c3",
      "c4",
    ]);
    expect(complete.payload).toEqual({ seq: latest, epoch: registered.payload.epoch });
    again.close();
  });

  it("replays the frames exactly as they were sent live", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c0", "w1")] });
    const live = await roomSocket(account);
    await push(account, { comments: [comment("c1", "w1")] });
    await live.until((f) => f.some((x) => x.type === "topic:updated"), "live topic update");
    const late = await roomSocket(account);
    await late.request("sync:start", { since: 2 }, "sync:complete");
    expect(late.events()).toEqual(live.events());
    live.close();
    late.close();
  });

  it("reports sync:progress every 100 events", async () => {
    const account = uid("acc");
    const comments = Array.from({ length: 250 }, (_, i) => comment(`c${i}`, `w${i % 5}`));
    const { json } = await push(account, { comments });
    expect(json.seq).toBe(255);
    const socket = await roomSocket(account);
    await socket.request("sync:start", { since: 0 }, "sync:complete");
    const progress = socket.frames.filter((f) => f.type === "sync:progress").map((f) => f.payload);
    expect(progress).toEqual([
      { sent: 100, total: 255 },
      { sent: 200, total: 255 },
    ]);
    expect(socket.events().map((f) => f.payload.seq)).toEqual(Array.from({ length: 255 }, (_, i) => i + 1));
    socket.close();
  });

  it("a replay larger than a page comes paced: every event once, in order, live ones in their place", async () => {
    const { account, json } = await longLog();
    expect(json.seq).toBeGreaterThan(REPLAY_PAGE);
    const watcher = await roomSocket(account);
    const socket = await roomSocket(account);
    const id = crypto.randomUUID();
    socket.send({ type: "sync:start", id, payload: { since: 0 } });
    // The first page is there at once; the next one waits for its share of the byte budget.
    await socket.until(
      (f) => f.filter((x) => x.type === "sync:progress").length >= REPLAY_PAGE / 100,
      "the first page",
    );
    const during = await push(account, { comments: [comment("live-1", "w0")] });
    const complete = await socket.next("sync:complete", id);
    expect(complete.payload.seq).toBe(during.json.seq);
    await watcher.until((f) => f.some((x) => x.type === "channel:message" && x.payload.seq < during.json.seq), "live");
    const seqs = socket.events().map((f) => f.payload.seq);
    expect(seqs).toEqual(Array.from({ length: during.json.seq }, (_, i) => i + 1));
    const progress = socket.frames.filter((f) => f.type === "sync:progress").map((f) => f.payload);
    expect(progress.at(-1)).toEqual({ sent: 1200, total: during.json.seq });
    watcher.close();
    socket.close();
  });

  it("sync:start again during a long replay: the first is answered conflict, the second replays in full", async () => {
    const { account, json } = await longLog();
    const socket = await roomSocket(account);
    socket.send({ type: "sync:start", id: "first", payload: { since: 0 } });
    socket.send({ type: "sync:start", id: "second", payload: { since: 0 } });
    const complete = await socket.next("sync:complete", "second");
    expect(complete.payload.seq).toBe(json.seq);
    const conflict = socket.frames.findIndex((f) => f.type === "error" && f.id === "first");
    expect(socket.frames[conflict]!.payload).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/replaced/),
    });
    expect(socket.frames.some((f) => f.type === "sync:complete" && f.id === "first")).toBe(false);
    const after = socket.frames
      .slice(conflict)
      .filter((f) => typeof f.payload?.seq === "number" && f.type !== "sync:complete");
    expect(after.map((f) => f.payload.seq)).toEqual(Array.from({ length: json.seq }, (_, i) => i + 1));
    socket.close();
  });

  it("answers sync:reset when the epoch is not the room's", async () => {
    const account = uid("acc");
    const seq = await pushComments(account, 0, 1);
    const socket = await roomSocket(account);
    const reset = await socket.request("sync:start", { since: 1, epoch: "some-other-epoch" }, "sync:reset");
    expect(reset.type).toBe("sync:reset");
    expect(reset.payload.seq).toBe(seq);
    expect(socket.events()).toEqual([]);
    socket.close();
  });

  it("answers sync:reset when `since` is ahead of the room (storage was rebuilt)", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 1);
    const socket = await roomSocket(account);
    const reset = await socket.request("sync:start", { since: 999 }, "sync:reset");
    expect(reset.type).toBe("sync:reset");
    socket.close();
  });

  it("answers sync:reset when the missed events are older than the retention", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 3);
    const stub = env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`));

    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("DELETE FROM events WHERE seq <= 4");
    });
    const socket = await roomSocket(account);
    expect((await socket.request("sync:start", { since: 2 }, "sync:reset")).type).toBe("sync:reset");
    expect((await socket.request("sync:start", { since: 4 }, "sync:complete")).type).toBe("sync:complete");
    expect(socket.events().map((f) => f.payload.seq)).toEqual([5, 6]);
    socket.close();
  });
});

describe("connecting with ?since= and with a clientId cursor", () => {
  it("?since= replays what was missed on connect", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 2);
    const socket = await roomSocket(account, { query: "&since=2" });
    await socket.next("sync:complete");
    expect(socket.events().map((f) => f.payload.seq)).toEqual([3, 4]);
    socket.close();
  });

  it("a client that acked resumes after its cursor when it reconnects without since", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 2); // seq 4
    const first = await roomSocket(account, { query: "&clientId=desk-7" });
    const acked = await first.request("ack", { seq: 4 }, "ack");
    expect(acked.payload.seq).toBe(4);
    first.close();
    await pushComments(account, 2, 1); // seq 5, 6
    const second = await roomSocket(account, { query: "&clientId=desk-7" });
    await second.next("sync:complete");
    expect(second.events().map((f) => f.payload.seq)).toEqual([5, 6]);
    second.close();
  });

  it("another agent using the same clientId does not move my cursor", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 2); // seq 4
    const as = async (sub: string) =>
      (await connect(`/api/v1/accounts/${account}/ws?token=${await token("agent", { sub })}&clientId=desk-1`)).socket!;
    const mine = await as("agent-1");
    expect((await mine.request("ack", { seq: 2 }, "ack")).payload.seq).toBe(2);
    mine.close();
    const theirs = await as("agent-2");
    expect((await theirs.request("ack", { seq: 4 }, "ack")).payload.seq).toBe(4);
    theirs.close();
    const back = await as("agent-1");
    await back.next("sync:complete");
    expect(back.events().map((f) => f.payload.seq)).toEqual([3, 4]);
    back.close();
  });

  it("a cursor stored before cursors were kept per token still serves its clientId", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 2); // seq 4
    await runInDurableObject(env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`)), (_room, state) => {
      state.storage.sql.exec("INSERT INTO cursors (sub, client_id, seq, at) VALUES ('', 'desk-old', 2, 0)");
    });
    const socket = await roomSocket(account, { query: "&clientId=desk-old" });
    await socket.next("sync:complete");
    expect(socket.events().map((f) => f.payload.seq)).toEqual([3, 4]);
    // Its own ack takes over from then on.
    expect((await socket.request("ack", { seq: 3 }, "ack")).payload.seq).toBe(3);
    socket.close();
    const again = await roomSocket(account, { query: "&clientId=desk-old" });
    await again.next("sync:complete");
    expect(again.events().map((f) => f.payload.seq)).toEqual([4]);
    again.close();
  });

  it("client:notification:ack moves the cursor to that notification", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 1); // seq 2
    await push(account, {
      notifications: [{ notification_id: "n1", type: "like", title: "New like", create_time: 1_730_000_000 }],
    }); // seq 3
    await pushComments(account, 1, 1); // seq 5
    const socket = await roomSocket(account);
    await socket.request("monitor:register", { clientId: "desk-9", clientType: "monitor" }, "monitor:registered");
    const ack = await socket.request("client:notification:ack", { notification_id: "n1" }, "ack");
    expect(ack.payload.seq).toBe(3);
    const unknown = await socket.request("client:notification:ack", { notification_id: "nope" }, "ack");
    expect(unknown.payload.code).toBe("not_found");
    socket.close();
    const again = await roomSocket(account, { query: "&clientId=desk-9" });
    await again.next("sync:complete");
    expect(again.events().map((f) => f.payload.seq)).toEqual([4, 5]);
    again.close();
  });

  it("ack without a clientId is an error frame and the socket stays open", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 1);
    const socket = await roomSocket(account);
    const error = await socket.request("ack", { seq: 1 }, "ack");
    expect(error.type).toBe("error");
    expect(error.payload.message).toMatch(/monitor:register/);
    expect((await socket.request("monitor:request_topics", {}, "monitor:topics")).type).toBe("monitor:topics");
    socket.close();
  });

  it("an invalid since is refused before the upgrade", async () => {
    const account = uid("acc");
    await pushComments(account, 0, 1);
    const res = await connect(`/api/v1/accounts/${account}/ws?token=${await token("agent")}&since=-3`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "invalid_query", issues: [{ path: "since" }] });
  });
});

describe("the log's retention", () => {
  const roomOf = (account: string) => env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`));
  const alarmIn = async (account: string) =>
    ((await runInDurableObject(roomOf(account), (_room, state) => state.storage.getAlarm())) ?? Infinity) - Date.now();

  it("a push to a log past its retention, by age or by count, sets the alarm that prunes it within seconds", async () => {
    const fresh = uid("acc");
    await pushComments(fresh, 0, 2);
    // Within its retention, the next thing due is the crawler's health transition, a minute away.
    expect(await alarmIn(fresh)).toBeGreaterThan(30_000);

    const old = uid("acc");
    await pushComments(old, 0, 2);
    await runInDurableObject(roomOf(old), (_room, state) => {
      state.storage.sql.exec("UPDATE events SET at = at - ? WHERE seq = 1", 31 * 86_400_000);
    });
    await pushComments(old, 2, 1);
    expect(await alarmIn(old)).toBeLessThan(5_000);

    const long = uid("acc");
    await pushComments(long, 0, 2);
    // As if 200,000 events had been written since the first one still kept.
    await runInDurableObject(roomOf(long), (_room, state) => {
      state.storage.sql.exec("UPDATE events SET seq = seq - 200000 WHERE seq = 1");
    });
    await pushComments(long, 2, 1);
    expect(await alarmIn(long)).toBeLessThan(5_000);
  });
});
