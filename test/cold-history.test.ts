/** Cold history: the oldest messages moved to R2, and everything that read them still reads them the same. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { AccountRoom } from "../src/objects/AccountRoom";
import type { ColdHistory } from "../src/objects/room/history/cold-history";
import type { Config } from "../src/config";
import { api, comment, dm, push, roomSocket, token, uid } from "./helpers";

const roomOf = (account: string) => env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`));

/** What a test reaches inside a room: its settings (as a deploy would set them) and its cold history. */
type Inside = { config: Config; room: { cold: ColdHistory } };
const inside = (room: AccountRoom) => {
  const { config, room: parts } = room as unknown as Inside;
  return { config, cold: parts.cold };
};

/** `n` comments on `work`, pushed in pushes of at most 1,000. */
async function pushComments(account: string, work: string, prefix: string, n: number): Promise<void> {
  for (let start = 0; start < n; start += 1_000) {
    const comments = Array.from({ length: Math.min(1_000, n - start) }, (_, i) =>
      comment(`${prefix}${start + i}`, work, { content: `${prefix} 评论 number ${start + i} with some words` }),
    );
    expect((await push(account, { comments })).status).toBe(200);
  }
}

/** Every page of a topic, newest first as a client pages back, each as the JSON text it answered. */
async function allPages(account: string, topicId: string, limit = 200): Promise<string[]> {
  const auth = await token("agent");
  const pages: string[] = [];
  let before: number | undefined;
  for (;;) {
    const query = `limit=${limit}${before === undefined ? "" : `&before=${before}`}`;
    const res = await api(`/api/v1/accounts/${account}/topics/${topicId}/messages?${query}`, { token: auth });
    expect(res.status).toBe(200);
    pages.push(JSON.stringify(res.json));
    if (!res.json.hasMore) return pages;
    before = res.json.messages[0].seq;
  }
}

/** The messages of a topic's pages, oldest first. */
const messagesIn = (pages: string[]): unknown[] =>
  pages.toReversed().flatMap((page) => JSON.parse(page).messages as unknown[]);

const topicsOf = async (account: string) =>
  JSON.stringify((await api(`/api/v1/accounts/${account}/topics`, { token: await token("agent") })).json);

/**
 * The room's alarm with an event log kept to its newest `keepEvents` and cold history moved
 * past `archivePercent`, those settings for this one alarm only. Left in place, they would make
 * the room's next pushes set an alarm of its own a second later, which on a busy machine fires
 * in the middle of the test and moves what the test is about to count.
 */
async function alarmWith(account: string, keepEvents: number, archivePercent = 0) {
  return runInDurableObject(roomOf(account), async (room, state) => {
    const { config } = inside(room);
    const deployed = { ...config };
    config.eventRetentionCount = keepEvents;
    config.archivePercent = archivePercent;
    try {
      await room.alarm();
    } finally {
      Object.assign(config, deployed);
    }
    return figures(state);
  });
}

function figures(state: DurableObjectState) {
  const n = (sql: string) => state.storage.sql.exec<{ n: number }>(sql).one().n;
  return {
    live: n("SELECT COUNT(*) AS n FROM messages"),
    archived: n("SELECT COUNT(*) AS n FROM archived"),
    batches: n("SELECT COUNT(*) AS n FROM archive_batches"),
    bytes: state.storage.sql.databaseSize,
  };
}

async function objectsOf(account: string): Promise<string[]> {
  const listed = await env.ARCHIVE.list({ prefix: `t1/${account}/` });
  return listed.objects.map((object) => object.key);
}

describe("cold history", () => {
  it("pages through a topic exactly as before its oldest messages moved to R2", { timeout: 120_000 }, async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 2_500);
    await pushComments(account, "w2", "b", 300);
    await push(account, { messages: [dm("d1", "conv1"), dm("d2", "conv1")] });
    await pushComments(account, "w1", "c", 400);
    const before = {
      w1: await allPages(account, "w1"),
      w2: await allPages(account, "w2"),
      topics: await topicsOf(account),
    };
    const socket = await roomSocket(account);
    const socketPage = async () =>
      JSON.stringify(
        (
          await socket.request(
            "monitor:request_messages",
            { topicId: "w1", limit: 200, before: 1_100 },
            "monitor:messages",
          )
        ).payload,
      );
    const socketBefore = await socketPage();

    // The newest 300 events stay in the log: the messages they name stay in SQLite.
    const after = await alarmWith(account, 300);
    // Whole batches only: 2,900 may move, 2,000 do.
    expect(after).toMatchObject({ archived: 2_000, live: 3_202 - 2_000, batches: 2 });
    expect(await objectsOf(account)).toHaveLength(2);

    expect(await allPages(account, "w1")).toEqual(before.w1);
    expect(await allPages(account, "w2")).toEqual(before.w2);
    // Pages of another size cross the boundary at another place: the same messages, once each.
    expect(messagesIn(await allPages(account, "w1", 37))).toEqual(messagesIn(before.w1));
    expect(await topicsOf(account)).toBe(before.topics);
    expect(await socketPage()).toBe(socketBefore);
    socket.close();
  });

  it("does not make an archived comment new again when a later snapshot still holds it", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 1_200);
    await alarmWith(account, 100);
    const topics = await topicsOf(account);
    const pages = await allPages(account, "w1");

    const again = [
      comment("a0", "w1", { content: "a 评论 number 0 with some words" }),
      comment("a5", "w1", { content: "edited" }),
    ];
    const res = await push(account, { comments: [...again, comment("fresh", "w1")] });
    expect(res.json.counts.comments).toMatchObject({ new: 1, updated: 0 });
    // An archived comment's id pushed as a DM is refused as it is while the comment is in SQLite.
    const dmRes = await push(account, { messages: [dm("a7", "conv1")] });
    expect(dmRes.json.rejected).toEqual([
      { kind: "messages", index: 0, issues: [{ path: "msg_id", message: "a7 is already a comment of this account" }] },
    ]);
    const w1 = JSON.parse(topics).topics.find((t: { id: string }) => t.id === "w1");
    const now = JSON.parse(await topicsOf(account)).topics.find((t: { id: string }) => t.id === "w1");
    expect(now.messageCount).toBe(w1.messageCount + 1);
    // The same history, with the one new comment after it.
    const after = messagesIn(await allPages(account, "w1"));
    expect(after.slice(0, -1)).toEqual(messagesIn(pages));
    expect(after.at(-1)).toMatchObject({ id: "fresh" });
  });

  it("keeps the compatibility lists as they were: archived messages in their place by time", async () => {
    const account = uid("acc");
    const base = 1_731_000_000;
    await push(account, {
      messages: Array.from({ length: 30 }, (_, i) => dm(`d${i}`, "conv1", { create_time: base + i * 50 })),
    });
    // Two pushes whose times interleave: the oldest seqs are not the oldest times.
    for (const parity of [1, 0]) {
      const comments = Array.from({ length: 700 }, (_, i) =>
        comment(`p${parity}-${i}`, i % 3 ? "w1" : "w2", { create_time: base + 2 * i + parity }),
      );
      expect((await push(account, { comments })).status).toBe(200);
    }
    const lists = async () => {
      const out: string[] = [];
      for (const path of ["discussions?", "unified-messages?", "messages?conversation_id=conv1&"]) {
        let cursor = 0;
        for (;;) {
          const res = await api(`/api/im/${path}account_id=${account}&count=100&cursor=${cursor}`, {
            token: await token("agent"),
          });
          expect(res.json.status_code).toBe(0);
          out.push(JSON.stringify(res.json));
          if (!res.json.data.has_more) break;
          cursor = res.json.data.cursor;
        }
      }
      return out;
    };
    const before = await lists();
    expect(await alarmWith(account, 100)).toMatchObject({ archived: 1_000 });
    expect(await lists()).toEqual(before);
  });

  it("takes a reply to an archived comment as it would before the move", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 1_200);
    await push(account, { comments: [comment("other", "w2")] });
    await alarmWith(account, 100);
    const socket = await roomSocket(account);
    const accepted = await socket.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", replyToId: "a5", clientMsgId: uid("k") },
      "monitor:reply:accepted",
    );
    expect(accepted.payload.message).toMatchObject({ kind: "reply", replyToId: "a5", toId: "u-a5" });
    const elsewhere = await socket.request(
      "monitor:reply",
      { topicId: "w2", content: "hi", replyToId: "a5", clientMsgId: uid("k") },
      "error",
    );
    expect(elsewhere.payload).toMatchObject({ code: "not_found", issues: [{ path: "replyToId" }] });
    socket.close();
  });

  it("keeps unread counts: a read mark inside the archived range counts the archived messages after it", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 1_200);
    const first = JSON.parse((await allPages(account, "w1", 200)).at(-1)!).messages as { seq: number }[];
    const mark = first[99]!.seq;
    await alarmWith(account, 100);
    const socket = await roomSocket(account);
    socket.send({ type: "monitor:mark_read", payload: { topicId: "w1", seq: mark } });
    await socket.until((frames) => frames.some((f) => f.type === "topic:updated"), "the read mark");
    const topic = JSON.parse(await topicsOf(account)).topics.find((t: { id: string }) => t.id === "w1");
    expect(topic.unreadCount).toBe(1_100);
    socket.close();
  });

  it("loses and repeats nothing when a move stops between the R2 write and the deletion", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 2_500);
    const pages = await allPages(account, "w1");
    await runInDurableObject(roomOf(account), async (room, state) => {
      const { cold, config } = inside(room);
      config.eventRetentionCount = 100;
      state.storage.sql.exec("DELETE FROM events WHERE seq <= (SELECT seq - 100 FROM account)");
      const commit = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(cold), "commit")!.value;
      (cold as unknown as { commit: unknown }).commit = () => {
        throw new Error("the object was evicted");
      };
      await expect(cold.moveBatch()).rejects.toThrow("the object was evicted");
      (cold as unknown as { commit: unknown }).commit = commit;
      expect(figures(state)).toMatchObject({ live: 2_500, archived: 0, batches: 0 });
    });
    // The object is written; nothing names it yet.
    expect(await objectsOf(account)).toHaveLength(1);
    expect(await allPages(account, "w1")).toEqual(pages);

    const after = await alarmWith(account, 100);
    expect(after).toMatchObject({ live: 500, archived: 2_000, batches: 2 });
    // The batch written before the stop was written again under the same key.
    expect(await objectsOf(account)).toHaveLength(2);
    // Run again: nothing more may move (the rest is in the event log).
    expect(await alarmWith(account, 100)).toMatchObject({ live: 500, archived: 2_000, batches: 2 });
    expect(await allPages(account, "w1")).toEqual(pages);
  });

  it("commits nothing of a batch whose message changed while its object was written", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 1_200);
    await runInDurableObject(roomOf(account), async (room, state) => {
      const { cold } = inside(room);
      state.storage.sql.exec("DELETE FROM events WHERE seq <= (SELECT seq - 100 FROM account)");
      const bucket = env.ARCHIVE;
      (cold as unknown as { bucket: Pick<R2Bucket, "put"> }).bucket = {
        async put(...args: Parameters<R2Bucket["put"]>) {
          // A push edits the oldest comment while the object is on its way.
          state.storage.sql.exec("UPDATE messages SET hash = 'edited' WHERE rowid = (SELECT MIN(rowid) FROM messages)");
          return bucket.put(...args);
        },
      };
      expect(await cold.moveBatch()).toBe(false);
      expect(figures(state)).toMatchObject({ live: 1_200, archived: 0, batches: 0 });
    });
  });

  it("keeps the messages and the rest of the upkeep when R2 fails, and moves them at the next alarm", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 1_200);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const failed = await runInDurableObject(roomOf(account), async (room, state) => {
      const { cold, config } = inside(room);
      config.eventRetentionCount = 100;
      config.archivePercent = 0;
      const bucket = env.ARCHIVE;
      (cold as unknown as { bucket: Pick<R2Bucket, "put"> }).bucket = {
        put: () => Promise.reject(new Error("R2 is unavailable")),
      };
      // Each failure puts the next try further off (2 s, then 4 s), so an outage does not wake the room every second.
      const waits: number[] = [];
      for (let i = 0; i < 2; i++) {
        const before = Date.now();
        await room.alarm();
        waits.push((await state.storage.getAlarm())! - before);
      }
      (cold as unknown as { bucket: R2Bucket }).bucket = bucket;
      return {
        ...figures(state),
        events: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events").one().n,
        waits,
      };
    });
    expect(failed.waits[0]).toBeGreaterThanOrEqual(2_000);
    expect(failed.waits[1]).toBeGreaterThanOrEqual(4_000);
    expect(logged).toHaveBeenCalledWith("moving cold history to R2 failed; retrying from the alarm", expect.any(Error));
    logged.mockRestore();
    // The log was pruned all the same; nothing moved.
    expect(failed).toMatchObject({ live: 1_200, archived: 0, events: 100 });
    expect(await alarmWith(account, 100)).toMatchObject({ live: 200, archived: 1_000 });
  });

  it("frees the moved messages' pages: the database shrinks, and the next messages take the room they left", async () => {
    const account = uid("acc");
    await pushComments(account, "w1", "a", 4_000);
    const full = await runInDurableObject(roomOf(account), (_room, state) => figures(state));
    const moved = await alarmWith(account, 100);
    expect(moved).toMatchObject({ live: 1_000, archived: 3_000 });
    // Measured here: 2,043,904 bytes before, 761,856 after.
    expect(moved.bytes).toBeLessThan(full.bytes / 2);
    await pushComments(account, "w2", "b", 3_000);
    const refilled = await runInDurableObject(roomOf(account), (_room, state) => figures(state));
    // As many messages in SQLite as before the move, and 3,000 key rows: ~110 bytes each here.
    expect(refilled.live).toBe(full.live);
    expect((refilled.bytes - full.bytes) / refilled.archived).toBeLessThan(150);
  });
});
