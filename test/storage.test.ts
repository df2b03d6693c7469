/** How an account's storage is laid out: each thing stored once, replays unchanged, old data migrated. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { channelMessageText, topicUpdated } from "../src/objects/room/events";
import { bodyOf, packBody } from "../src/objects/room/store/message-body";
import { packRaw, unpackRaw } from "../src/objects/room/store/message-raw";
import { migrate } from "../src/lib/migrate";
import { ROOM_MIGRATIONS } from "../src/objects/room/store/schema";
import type { Message } from "../src/contract/schemas";
import { comment, push, roomSocket, uid } from "./helpers";
import type { Frame } from "./helpers";

const roomOf = (account: string, tenant = "t1") =>
  env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${account}`));

/** Each frame as text, keys in the order they arrived: equal texts are byte-identical frames. */
const texts = (frames: Frame[]) => frames.map((frame) => JSON.stringify(frame));

/** Everything an agent is replayed from `since`, after a sync:start. */
async function replay(account: string, since = 0): Promise<Frame[]> {
  const socket = await roomSocket(account);
  await socket.request("sync:start", { since }, "sync:complete");
  socket.close();
  return socket.events();
}

describe("a new message's event", () => {
  it("replays as it was sent live, although its message changed after", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c0", "w1")] });
    const live = await roomSocket(account);
    await push(account, { comments: [comment("c1", "w1", { content: "first words" })] });
    await push(account, { comments: [comment("c1", "w1", { content: "edited words" })] });
    await live.until((frames) => frames.some((f) => f.type === "message:updated"), "the update");
    await live.until((frames) => frames.filter((f) => f.type === "topic:updated").length === 2, "both topic updates");

    const replayed = await replay(account, 2);
    expect(texts(replayed)).toEqual(texts(live.events()));
    expect(replayed.find((f) => f.type === "channel:message")!.payload.message.content).toBe("first words");
    // History reads give today's message.
    const page = await live.request("monitor:request_messages", { topicId: "w1" }, "monitor:messages");
    expect(page.payload.messages.map((m: Message) => m.content)).toEqual(["comment c0", "edited words"]);
    live.close();
  });

  it("replays a reply's message as it was sent, after its status changed", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c0", "w1")] });
    const live = await roomSocket(account);
    await live.request(
      "monitor:reply",
      { topicId: "w1", content: "thanks", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    await live.until((frames) => frames.some((f) => f.type === "channel:message"), "the reply");
    const replayed = await replay(account, 2);
    const reply = replayed.find((f) => f.type === "channel:message")!;
    expect(JSON.stringify(reply)).toBe(JSON.stringify(live.events("channel:message")[0]));
    live.close();
  });
});

/** Drops the room's tables and builds them as the migrations before this layout left them. */
function oldLayout(sql: SqlStorage, before: number): void {
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
  sql.exec("DROP TABLE _migrations");
  migrate(sql, ROOM_MIGRATIONS.slice(0, before));
}

describe("the migration to events stored once", () => {
  it("runs over a database written by the old layout: replays are unchanged and it takes less room", async () => {
    const account = uid("acc");
    // The room exists (its constructor ran); its tables are rebuilt as an older version had them.
    await push(account, { comments: [comment("seed", "w1")] });
    const oldFrames: string[] = [];
    const before = await runInDurableObject(roomOf(account), (_room, state) => {
      const sql = state.storage.sql;
      const layoutBefore = ROOM_MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE events_once"));
      oldLayout(sql, layoutBefore);
      sql.exec(
        "INSERT INTO account (id, tenant, account_id, epoch, created_at, seq) VALUES (1, 't1', ?, 'epoch-1', 0, 0)",
        account,
      );
      sql.exec("INSERT INTO topics (id, kind, title, base_time, sort_time) VALUES ('w1', 'work', 'w1', 0, 0)");
      // As the old writer did: rowids of their own, the whole frame in each event.
      const topicIds = ["w1", "w\ud800lone"];
      let seq = 0;
      for (let i = 0; i < 300; i++) {
        seq++;
        const message: Message = {
          id: `c${i}`,
          channelId: account,
          topicId: topicIds[i % 2]!,
          seq,
          kind: "comment",
          fromId: `u${i}`,
          fromName: `用户${i}`,
          content: `评论内容 ${i} ${"很好".repeat(20)}`,
          type: "text",
          timestamp: 1_730_000_000_000 + i,
          direction: "in",
        };
        const body = JSON.stringify(message);
        sql.exec(
          `INSERT INTO messages (id, platform_id, kind, topic_id, seq, timestamp, inbound, hash, ts, raw, body)
           VALUES (?, ?, 'comment', ?, ?, ?, 1, 'h', 0, ?, ?)`,
          message.id,
          message.id,
          message.topicId,
          seq,
          message.timestamp,
          JSON.stringify({ comment_id: message.id, content: message.content }),
          body,
        );
        const frame = channelMessageText(seq, message, body);
        sql.exec("INSERT INTO events (seq, at, frame, audience) VALUES (?, ?, ?, 'all')", seq, Date.now(), frame);
        oldFrames.push(frame);
        if (i % 100 === 99) {
          seq++;
          const topic = JSON.stringify(
            topicUpdated(seq, {
              id: "w1",
              channelId: account,
              kind: "work",
              title: "w1",
              lastMessage: "",
              lastMessageTime: 0,
              messageCount: 0,
              unreadCount: 0,
            }),
          );
          sql.exec("INSERT INTO events (seq, at, frame, audience) VALUES (?, ?, ?, 'all')", seq, Date.now(), topic);
          oldFrames.push(topic);
        }
      }
      // A message edited after its event was sent: its event keeps the old text.
      sql.exec("UPDATE messages SET body = replace(body, '评论内容 4 ', '改过了 4 ') WHERE id = 'c4'");
      sql.exec("UPDATE account SET seq = ?", seq);
      return sql.databaseSize;
    });
    const migrated = await runInDurableObject(roomOf(account), (_room, state) => {
      const sql = state.storage.sql;
      migrate(sql, ROOM_MIGRATIONS);
      const whole = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE frame <> ''").one().n;
      return { whole };
    });
    const after = await runInDurableObject(roomOf(account), (_room, state) => state.storage.sql.databaseSize);
    // Three topic events, the edited message's and the lone-surrogate topic's stay whole
    // (SQLite cannot rebuild an id it does not hold as it was); the rest are stored once.
    expect(migrated.whole).toBe(3 + 1 + 150);
    expect(after).toBeLessThan(before);
    expect(texts(await replay(account))).toEqual(oldFrames.map((text) => JSON.stringify(JSON.parse(text))));
    // A message written by the old layout (its platform id in its own column) is still found by it.
    const again = await push(account, { comments: [comment("c2", "w1", { content: "edited later" })] });
    expect(again.json.counts.comments).toEqual({ received: 1, new: 0, updated: 1 });
  });
});

describe("a message's raw item", () => {
  const message: Message = {
    id: "c\ud800-1",
    channelId: "acc",
    topicId: "w1",
    seq: 3,
    kind: "comment",
    fromId: "u9",
    fromName: "用户9",
    fromAvatar: "https://p3.douyinpic.com/9.jpeg",
    content: "太好看了 — great video!",
    type: "text",
    timestamp: 1_730_000_000_000,
    direction: "in",
  };

  it("is stored without what the message holds, and read back as the very text it was", () => {
    const raw = JSON.stringify({
      comment_id: message.id,
      work_id: "w1",
      content: message.content,
      author_id: "u9",
      author_name: message.fromName,
      author_avatar: message.fromAvatar,
      "7": "a numeric key",
      nested: { content: message.content },
      like_count: 3,
    });
    const stored = packRaw(raw, message);
    expect(stored.length).toBeLessThan(raw.length - message.content.length - message.fromAvatar!.length);
    expect(unpackRaw(stored, JSON.parse(JSON.stringify(message)) as Message)).toBe(raw);
  });

  it("is stored whole when a value looks like a mark, or nothing is saved", () => {
    const marked = JSON.stringify({ comment_id: message.id, content: message.content, note: "@1" });
    expect(packRaw(marked, message)).toBe(marked);
    const unrelated = JSON.stringify({ comment_id: "other", like_count: 1 });
    expect(packRaw(unrelated, message)).toBe(unrelated);
    expect(unpackRaw(unrelated, message)).toBe(unrelated);
  });

  it("still merges a later partial item: fields the crawler left out keep their value", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1", { author_avatar: "https://a/1.jpeg", like_count: 1 })] });
    await push(account, {
      comments: [{ comment_id: "c1", work_id: "w1", content: "edited", like_count: 2 }],
    });
    const socket = await roomSocket(account);
    const page = await socket.request("monitor:request_messages", { topicId: "w1" }, "monitor:messages");
    expect(page.payload.messages[0]).toMatchObject({ content: "edited", fromAvatar: "https://a/1.jpeg" });
    socket.close();
  });
});

describe("a message's body", () => {
  const message: Message = {
    id: "c1",
    channelId: "acc-1",
    topicId: "w1",
    seq: 12,
    kind: "comment",
    fromId: "u9",
    fromName: "用户9",
    content: "太好看了",
    type: "text",
    timestamp: 1_730_000_000_000,
    direction: "in",
  };
  const row = (m: Message, body: string) => ({ id: m.id, topic_id: m.topicId, seq: m.seq, kind: m.kind, body });

  it("is stored without the head its row and room rebuild, and read back as the very text it was", () => {
    const body = JSON.stringify(message);
    const stored = packBody(body, message, "acc-1");
    expect(stored.startsWith(',"fromId"')).toBe(true);
    expect(bodyOf(row(message, stored), "acc-1")).toBe(body);
  });

  it("is stored whole when a column could not give its id back, or the head is not the usual one", () => {
    for (const odd of [
      { ...message, id: "c\ud800" },
      { ...message, topicId: "w\u0000" },
      { ...message, channelId: "another" },
    ]) {
      const body = JSON.stringify(odd);
      expect(packBody(body, odd, "acc-1")).toBe(body);
      expect(bodyOf(row(odd, body), "acc-1")).toBe(body);
    }
    const { channelId, ...rest } = message;
    const reordered = JSON.stringify({ channelId, ...rest });
    expect(packBody(reordered, message, "acc-1")).toBe(reordered);
  });
});

describe("the migration to cursors and clientMsgIds kept per token", () => {
  it("keeps every cursor and command as they were, readable under the new keys", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("seed", "w1")] });
    const rows = await runInDurableObject(roomOf(account), (_room, state) => {
      const sql = state.storage.sql;
      oldLayout(
        sql,
        ROOM_MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE cursors_by_sub")),
      );
      sql.exec("INSERT INTO cursors (client_id, seq, at) VALUES ('desk-1', 7, 100), ('desk-2', 9, 200)");
      sql.exec(
        `INSERT INTO commands (id, type, client_msg_id, message_id, topic_id, topic_kind, content, status, attempts,
           created_at, pending_since)
         VALUES ('cmd-1', 'reply', 'k-1', 'reply-1', 'w1', 'work', 'hello', 'pending', 1, 10, 10),
                ('cmd-2', 'login', NULL, NULL, NULL, NULL, NULL, 'sent', 0, 20, 20)`,
      );
      migrate(sql, ROOM_MIGRATIONS);
      return {
        cursors: sql.exec("SELECT sub, client_id, seq, at FROM cursors ORDER BY client_id").toArray(),
        commands: sql
          .exec("SELECT id, agent, client_msg_id, content, status, attempts FROM commands ORDER BY id")
          .toArray(),
      };
    });
    expect(rows.cursors).toEqual([
      { sub: "", client_id: "desk-1", seq: 7, at: 100 },
      { sub: "", client_id: "desk-2", seq: 9, at: 200 },
    ]);
    expect(rows.commands).toEqual([
      { id: "cmd-1", agent: null, client_msg_id: "k-1", content: "hello", status: "pending", attempts: 1 },
      { id: "cmd-2", agent: null, client_msg_id: null, content: null, status: "sent", attempts: 0 },
    ]);
  });
});
