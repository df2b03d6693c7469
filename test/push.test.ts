import { describe, expect, it } from "vitest";
import { api, comment, conversation, dm, push, roomSocket, token, uid, work } from "./helpers";

/** Pushes of many megabytes or 10,000 items: seconds each on a busy 2-core machine. */
const BIG_PUSH_MS = 60_000;

describe("POST /api/v1/accounts/:accountId/sync", () => {
  it("stores a snapshot and answers with counts and the latest seq", async () => {
    const account = uid("acc");
    const res = await push(account, {
      contents: [work("w1")],
      comments: [comment("c1", "w1"), comment("c2", "w1")],
      conversations: [conversation("cv1")],
      messages: [dm("m1", "cv1")],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      ok: true,
      counts: {
        contents: { received: 1, new: 1, updated: 0 },
        comments: { received: 2, new: 2, updated: 0 },
        conversations: { received: 1, new: 1, updated: 0 },
        messages: { received: 1, new: 1, updated: 0 },
      },
      rejected: [],
    });
    // 3 new messages + 2 topics touched
    expect(res.json.seq).toBe(5);
    expect(res.json.counts.notifications).toBeUndefined();
  });

  it("refuses a push stamped two days ahead, and skips an item timed in microseconds, naming each", async () => {
    const account = uid("acc");
    const ahead = await push(account, { comments: [comment("c1", "w1")] }, { timestamp: Date.now() + 2 * 86_400_000 });
    expect(ahead.status).toBe(400);
    expect(ahead.json.error.issues).toEqual([
      { path: "timestamp", message: expect.stringContaining("must be a time from 2000-01-01 to a day from now") },
    ]);
    const topics = await api(`/api/v1/accounts/${account}/topics`, { token: await token("agent") });
    expect(topics.json.topics ?? []).toEqual([]);

    const micro = await push(account, {
      comments: [comment("c1", "w1"), comment("c2", "w1", { create_time: Date.now() * 1000 })],
    });
    expect(micro.status).toBe(200);
    expect(micro.json.counts.comments).toMatchObject({ received: 2, new: 1 });
    expect(micro.json.rejected).toEqual([
      {
        kind: "comments",
        index: 1,
        issues: [{ path: "create_time", message: expect.stringMatching(/\(year \d{5}\)/) }],
      },
    ]);
  });

  it("sends each new comment and DM live to connected agents, in seq order", async () => {
    const account = uid("acc");
    await push(account, { contents: [work("w1")] });
    const socket = await roomSocket(account);
    await push(account, {
      comments: [comment("c1", "w1")],
      conversations: [conversation("cv1")],
      messages: [dm("m1", "cv1")],
    });
    const frames = await socket.until((f) => f.filter((x) => x.type === "topic:updated").length >= 2, "topic updates");
    const messages = frames.filter((f) => f.type === "channel:message");
    expect(messages.map((f) => f.payload.message.id)).toEqual(["c1", "m1"]);
    expect(messages[0]!.payload).toMatchObject({
      channelId: account,
      topicId: "w1",
      message: {
        id: "c1",
        kind: "comment",
        channelId: account,
        topicId: "w1",
        fromName: "Fan c1",
        direction: "in",
        type: "text",
      },
    });
    expect(messages[1]!.payload.message).toMatchObject({ kind: "dm", topicId: "cv1", fromId: "p-cv1" });
    const seqs = socket.events().map((f) => f.payload.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    socket.close();
  });

  it("re-pushing the same snapshot creates no events and sends no frames", async () => {
    const account = uid("acc");
    const snapshot = { contents: [work("w1")], comments: [comment("c1", "w1")] };
    const first = await push(account, snapshot);
    const socket = await roomSocket(account);
    const again = await push(account, snapshot);
    expect(again.json.seq).toBe(first.json.seq);
    expect(again.json.counts.comments).toEqual({ received: 1, new: 0, updated: 0 });
    await socket.settle();
    expect(socket.events()).toEqual([]);
    socket.close();
  });

  it("a changed comment makes one message:updated, keeping its id and seq", async () => {
    const account = uid("acc");
    const c1 = comment("c1", "w1");
    const first = await push(account, { comments: [c1] });
    const original = (await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") })).json
      .messages[0];
    const socket = await roomSocket(account);
    const res = await push(account, { comments: [{ ...c1, content: "edited", like_count: 3 }] });
    expect(res.json.counts.comments).toEqual({ received: 1, new: 0, updated: 1 });
    const updated = await socket.next("message:updated");
    expect(updated.payload.seq).toBe(first.json.seq + 1);
    expect(updated.payload.message).toMatchObject({ id: "c1", seq: original.seq, content: "edited" });
    expect(socket.events("channel:message")).toEqual([]);
    socket.close();
  });

  it("an older snapshot never overwrites newer values but still adds unseen items", async () => {
    const account = uid("acc");
    const now = Date.now();
    await push(
      account,
      { comments: [comment("c1", "w1", { content: "new text" })] },
      { timestamp: now, account: { name: "New name" } },
    );
    const old = await push(
      account,
      { comments: [comment("c1", "w1", { content: "old text" }), comment("c0", "w1")] },
      { timestamp: now - 60_000, account: { name: "Old name" } },
    );
    expect(old.json.counts.comments).toEqual({ received: 2, new: 1, updated: 0 });
    const page = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.map((m: any) => [m.id, m.content])).toEqual([
      ["c1", "new text"],
      ["c0", "comment c0"],
    ]);
    const channels = await api("/api/v1/accounts", { token: await token("agent") });
    expect(channels.json.channels.find((c: any) => c.id === account).name).toBe("New name");
  });

  it("skips and reports an invalid item and stores the valid ones", async () => {
    const account = uid("acc");
    const res = await push(account, {
      comments: [comment("c1", "w1"), { comment_id: "c2", content: "no work" }, comment("c3", "w1"), "not an object"],
    });
    expect(res.status).toBe(200);
    expect(res.json.counts.comments).toEqual({ received: 4, new: 2, updated: 0 });
    expect(res.json.rejected).toEqual([
      { kind: "comments", index: 1, issues: [{ path: "work_id", message: expect.any(String) }] },
      { kind: "comments", index: 3, issues: [{ path: "", message: expect.any(String) }] },
    ]);
  });

  it("keeps unknown fields and merges fields a later snapshot leaves out", async () => {
    const account = uid("acc");
    await push(account, { contents: [work("w1", { title: "First title", extra_field: { a: 1 } })] });
    await push(account, { contents: [{ work_id: "w1", stats: { comment_count: 5, like_count: 9 } }] });
    const contents = await api(`/api/im/contents?account_id=${account}`, { token: await token("agent") });
    expect(contents.json.data.contents[0]).toMatchObject({
      aweme_id: "w1",
      desc: "First title",
      statistics: { comment_count: 5, digg_count: 9 },
    });
  });

  it("treats ids repeated inside one push as one item", async () => {
    const account = uid("acc");
    const res = await push(account, {
      comments: [comment("c1", "w1"), comment("c1", "w1", { content: "second copy" })],
    });
    expect(res.json.counts.comments).toEqual({ received: 2, new: 1, updated: 0 });
    const page = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.map((m: any) => m.content)).toEqual(["second copy"]);
  });

  describe("an invalid envelope stores nothing", () => {
    it.each([
      ["not JSON", "{oops", /not valid JSON/],
      ["no snapshot", { accountId: "ACC" }, /snapshot/],
      ["a snapshot list that is not a list", { accountId: "ACC", snapshot: { comments: {} } }, /snapshot\.comments/],
      ["an accountId that differs from the URL", { accountId: "other", snapshot: {} }, /accountId/],
    ])("%s → 400 naming the field", async (_name, body, message) => {
      const account = uid("acc");
      const text = typeof body === "string" ? body : JSON.stringify(body).replace("ACC", account);
      const res = await api(`/api/v1/accounts/${account}/sync`, {
        method: "POST",
        token: await token("crawler"),
        body: text,
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_body");
      expect(res.json.error.message).toMatch(message);
      // Nothing was stored: the account does not even exist for agents.
      const topics = await api(`/api/v1/accounts/${account}/topics`, { token: await token("agent") });
      expect(topics.status).toBe(403);
    });
  });

  it("refuses a body over 4 MiB with 413", { timeout: BIG_PUSH_MS }, async () => {
    const account = uid("acc");
    const big = JSON.stringify({ accountId: account, snapshot: { comments: [] }, pad: "x".repeat(4 * 1024 * 1024) });
    const res = await api(`/api/v1/accounts/${account}/sync`, {
      method: "POST",
      token: await token("crawler"),
      body: big,
    });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe("payload_too_large");
  });

  it(
    "takes a body just under 4 MiB whole when every item holds a little Chinese",
    { timeout: BIG_PUSH_MS },
    async () => {
      // Mostly ASCII with one character above U+00FF: the case where a string costs twice its length in memory.
      const account = uid("acc");
      const text = `好评 ${"fast delivery, well packed, would buy again; ".repeat(6)}`;
      const one = (i: number) => comment(`c${i}`, "w1", { content: `${i} ${text}`, author_name: `粉丝${i}` });
      const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
      const count = Math.floor((4 * 1024 * 1024 - 4096) / (bytes(one(99_999)) + 1));
      const comments = Array.from({ length: count }, (_, i) => one(i));
      expect(bytes(comments)).toBeGreaterThan(3.9 * 1024 * 1024);
      const res = await push(account, { contents: [work("w1")], comments });
      expect(res.status).toBe(200);
      expect(res.json.counts.comments).toEqual({ received: count, new: count, updated: 0 });
      const page = await api(`/api/v1/accounts/${account}/topics/w1/messages?limit=2`, { token: await token("agent") });
      expect(page.json.messages.map((m: any) => [m.content, m.fromName])).toEqual([
        [`${count - 2} ${text}`, `粉丝${count - 2}`],
        [`${count - 1} ${text}`, `粉丝${count - 1}`],
      ]);
    },
  );
});

describe("keys the contract does not know", () => {
  const body = (accountId: string, extra: Record<string, unknown>, snapshot: Record<string, unknown>) => ({
    type: "worker:data:sync",
    accountId,
    platform: "douyin",
    timestamp: Date.now(),
    ...extra,
    snapshot,
  });
  const sync = async (accountId: string, payload: unknown, headers: Record<string, string> = {}) =>
    api(`/api/v1/accounts/${accountId}/sync`, {
      method: "POST",
      token: await token("crawler"),
      body: payload,
      headers,
    });

  it("are stored around and named in warnings, each with the key it most likely meant", async () => {
    const account = uid("acc");
    const res = await sync(
      account,
      body(
        account,
        { timestmp: 1, source: "crawler-7" },
        {
          contents: [work("w1")],
          comments: [comment("c1", "w1")],
          dms: [dm("m1", "cv1")],
          comentz: [],
        },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.json.counts.comments).toEqual({ received: 1, new: 1, updated: 0 });
    expect(res.json.counts.messages).toBeUndefined();
    expect(res.json.warnings).toEqual([
      { path: "timestmp", message: "unknown key, ignored; did you mean timestamp?" },
      {
        path: "source",
        message:
          "unknown key, ignored; the known keys are type, accountId, platform, account, timestamp, crawler, snapshot",
      },
      { path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" },
      { path: "snapshot.comentz", message: "unknown key, ignored; did you mean comments?" },
    ]);
    // The items' own extra fields are the platform's, kept as ever: no warning for them.
    const clean = await sync(account, body(account, {}, { comments: [comment("c2", "w1", { ip_label: "广东" })] }));
    expect(clean.json.warnings).toEqual([]);
  });

  it("refuse the push whole, naming each, when the crawler asks for strict handling", async () => {
    const account = uid("acc");
    const first = await sync(account, body(account, {}, { comments: [comment("c1", "w1")] }));
    const strict = { prefer: "respond-async, handling=strict" };
    const refused = await sync(account, body(account, {}, { comments: [comment("c2", "w1")], dms: [] }), strict);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toEqual({
      code: "invalid_body",
      message: "unknown keys (Prefer: handling=strict): snapshot.dms: unknown key, ignored; did you mean messages?",
      issues: [{ path: "snapshot.dms", message: "unknown key, ignored; did you mean messages?" }],
    });
    // Nothing of the refused push was stored; the same body without the key goes through.
    const after = await sync(account, body(account, {}, { comments: [comment("c2", "w1")] }), strict);
    expect(after.status).toBe(200);
    expect(after.json.counts.comments.new).toBe(1);
    expect(after.json.seq).toBe(first.json.seq + 2);
  });
});

describe("a push with more rejected items than one push reports", () => {
  const broken = (n: number) => Array.from({ length: n }, (_, i) => ({ comment_id: `bad${i}`, content: "no work" }));

  it("reports up to 10,000 rejected items and stores the valid ones", { timeout: BIG_PUSH_MS }, async () => {
    const account = uid("acc");
    const res = await push(account, { contents: [work("w1")], comments: [...broken(10_000), comment("c1", "w1")] });
    expect(res.status).toBe(200);
    expect(res.json.counts.comments).toEqual({ received: 10_001, new: 1, updated: 0 });
    expect(res.json.rejected).toHaveLength(10_000);
    expect(res.json.rejected[9_999]).toEqual({
      kind: "comments",
      index: 9_999,
      issues: [{ path: "work_id", message: expect.any(String) }],
    });
  });

  it(
    "is refused whole past 10,000, naming the first ones, and nothing of it is stored",
    { timeout: BIG_PUSH_MS },
    async () => {
      const account = uid("acc");
      const first = await push(account, { contents: [work("w1")], comments: [comment("c0", "w1")] });
      const res = await push(account, { contents: [work("w2")], comments: [comment("c1", "w1"), ...broken(10_001)] });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_body");
      expect(res.json.error.message).toMatch(
        /^more than 10000 items of the snapshot are rejected, .*nothing was stored\. The first: snapshot\.comments\[1\]\.work_id: /,
      );
      expect(res.json.error.issues[0]).toEqual({ path: "snapshot.comments.1.work_id", message: expect.any(String) });
      const topics = await api(`/api/v1/accounts/${account}/topics`, { token: await token("agent") });
      expect(topics.json.topics.map((t: any) => [t.id, t.messageCount])).toEqual([["w1", 1]]);
      const again = await push(account, {});
      expect(again.json.seq).toBe(first.json.seq);
    },
  );

  it(
    "counts what the account's room refuses too: past 10,000 in all, nothing is stored",
    { timeout: BIG_PUSH_MS },
    async () => {
      const account = uid("acc");
      const first = await push(account, { contents: [work("w1")] });
      // DMs in a conversation whose id is a work of the account: refused by the room, not by validation.
      const misplaced = Array.from({ length: 1_001 }, (_, i) => dm(`m${i}`, "w1"));
      const res = await push(account, { comments: broken(9_000), messages: misplaced });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(
        /^more than 10000 items .* 9000 failed validation; the first the account refused: snapshot\.messages\[0\]\.conversation_id: w1 is a work/,
      );
      const again = await push(account, {});
      expect(again.json.seq).toBe(first.json.seq);
      // One fewer, and the valid and refused items are reported together, in order.
      const fine = await push(account, { comments: broken(9_000), messages: [dm("ok", "cv1"), ...misplaced.slice(1)] });
      expect(fine.status).toBe(200);
      expect(fine.json.rejected).toHaveLength(10_000);
      expect(fine.json.rejected.map((r: any) => r.kind + r.index).slice(8_999, 9_001)).toEqual([
        "comments8999",
        "messages1",
      ]);
      expect(fine.json.counts.messages).toEqual({ received: 1_001, new: 1, updated: 0 });
    },
  );
});
