import { describe, expect, it } from "vitest";
import { api, comment, connect, conversation, dm, push, roomSocket, token, uid, work } from "./helpers";

async function directorySocket(role: "agent" | "admin" = "agent", tenant = "t1") {
  const result = await connect(`/api/v1/ws?token=${await token(role, { tenant })}`);
  return result.socket!;
}

describe("Directory socket", () => {
  it("monitor:register answers monitor:registered then the channel list", async () => {
    const tenant = uid("tn");
    const a = uid("acc");
    await push(
      a,
      { comments: [comment("c1", "w1")] },
      { tenant, account: { name: "Brand A", avatar: "https://a.png" } },
    );
    const socket = await directorySocket("agent", tenant);
    socket.send({ type: "monitor:register", id: "r1", payload: { clientId: "desk-1", clientType: "monitor" } });
    const channels = await socket.next("monitor:channels");
    expect(socket.frames.map((f) => f.type)).toEqual(["monitor:registered", "monitor:channels"]);
    expect(channels.payload.channels).toEqual([
      {
        id: a,
        name: "Brand A",
        avatar: "https://a.png",
        platform: "douyin",
        description: "douyin",
        lastMessage: "comment c1",
        lastMessageTime: expect.any(Number),
        unreadCount: 1,
        messageCount: 1,
        isPinned: false,
        enabled: true,
        lastSyncAt: expect.any(Number),
        seq: 2,
        health: {
          crawler: "online",
          lastSeenAt: expect.any(Number),
          intervalMs: 30_000,
          login: "unknown",
          storage: "ok",
        },
      },
    ]);
    socket.close();
  });

  it("client:register (the crm-pc-im name) answers client:register:success", async () => {
    const socket = await directorySocket();
    const answer = await socket.request(
      "client:register",
      { client_id: "crm-pc-im_1", device_type: "desktop" },
      "client:register:success",
    );
    expect(answer.payload).toEqual({
      client_id: "crm-pc-im_1",
      server_time: expect.any(Number),
      heartbeat_interval: 25000,
    });
    socket.close();
  });

  it("a push sends channel:updated with the new summary", async () => {
    const tenant = uid("tn");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    const socket = await directorySocket("agent", tenant);
    await push(a, { comments: [comment("c2", "w1", { content: "latest words" })] }, { tenant });
    const updated = await socket.next("channel:updated");
    expect(updated.payload.channel).toMatchObject({
      id: a,
      lastMessage: "latest words",
      messageCount: 2,
      unreadCount: 2,
      seq: 4,
    });
    socket.close();
  });

  it("lists pinned channels first, then the newest", async () => {
    const tenant = uid("tn");
    const [a, b, c] = [uid("a"), uid("b"), uid("c")];
    await push(a, { comments: [comment("c1", "w1", { create_time: 1_730_000_001 })] }, { tenant });
    await push(b, { comments: [comment("c1", "w1", { create_time: 1_730_000_003 })] }, { tenant });
    await push(c, { comments: [comment("c1", "w1", { create_time: 1_730_000_002 })] }, { tenant });
    const admin = await token("admin", { tenant });
    expect(
      (await api(`/api/v1/accounts/${a}`, { method: "PATCH", token: admin, body: { isPinned: true } })).status,
    ).toBe(200);
    const socket = await directorySocket("agent", tenant);
    const list = await socket.request("monitor:request_channels", {}, "monitor:channels");
    expect(list.payload.channels.map((ch: any) => ch.id)).toEqual([a, b, c]);
    socket.close();
  });

  it("channel:update is for admins: it changes the channel and tells every socket", async () => {
    const tenant = uid("tn");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant, account: { name: "Crawler name" } });
    const agent = await directorySocket("agent", tenant);
    const admin = await directorySocket("admin", tenant);
    const refused = await agent.request("channel:update", { channelId: a, enabled: false }, "channel:updated");
    expect(refused.payload.code).toBe("forbidden");
    admin.send({ type: "channel:update", payload: { channelId: a, enabled: false, name: "Shown name" } });
    const seen = await agent.next("channel:updated");
    expect(seen.payload.channel).toMatchObject({ id: a, enabled: false, name: "Shown name" });
    // The admin's name survives the crawler's next push.
    await push(a, { comments: [comment("c2", "w1")] }, { tenant, account: { name: "Crawler name 2" } });
    const channels = await api("/api/v1/accounts", { token: await token("agent", { tenant }) });
    expect(channels.json.channels[0]).toMatchObject({ name: "Shown name", enabled: false, messageCount: 2 });
    agent.close();
    admin.close();
  });
});

describe("PATCH /api/v1/accounts/:accountId", () => {
  it("validates the body and names the field", async () => {
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] });
    const admin = await token("admin");
    const bad = await api(`/api/v1/accounts/${a}`, { method: "PATCH", token: admin, body: { isPinned: "yes" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: "invalid_body", issues: [{ path: "isPinned" }] });
    const unknown = await api(`/api/v1/accounts/${a}`, { method: "PATCH", token: admin, body: { colour: "red" } });
    expect(unknown.status).toBe(400);
    const empty = await api(`/api/v1/accounts/${a}`, { method: "PATCH", token: admin, body: {} });
    expect(empty.json.error.message).toMatch(/at least one/);
    const ok = await api(`/api/v1/accounts/${a}`, { method: "PATCH", token: admin, body: { name: "Renamed" } });
    expect(ok.json.channel).toMatchObject({ id: a, name: "Renamed" });
  });
});

describe("topics, messages and unread", () => {
  it("topics come newest first with titles from their items", async () => {
    const a = uid("acc");
    await push(a, {
      contents: [work("w1", { title: "" })],
      conversations: [conversation("cv1")],
      comments: [comment("c1", "w1", { create_time: 1_730_000_100 })],
      messages: [dm("m1", "cv1", { create_time: 1_730_000_200 })],
    });
    const res = await api(`/api/v1/accounts/${a}/topics`, { token: await token("agent") });
    expect(res.json.topics).toEqual([
      {
        id: "cv1",
        channelId: a,
        kind: "conversation",
        title: "Buyer cv1",
        avatar: "https://cdn.example/cv1.png",
        lastMessage: "dm m1",
        lastMessageTime: 1_730_000_200_000,
        messageCount: 1,
        unreadCount: 1,
      },
      {
        id: "w1",
        channelId: a,
        kind: "work",
        title: "Untitled work",
        avatar: "https://cdn.example/w1.jpg",
        lastMessage: "comment c1",
        lastMessageTime: 1_730_000_100_000,
        messageCount: 1,
        unreadCount: 1,
      },
    ]);
  });

  it("pages a topic's messages oldest first with before/limit, over HTTP and the socket alike", async () => {
    const a = uid("acc");
    await push(a, { comments: Array.from({ length: 7 }, (_, i) => comment(`c${i}`, "w1")) });
    const agent = await token("agent");
    const first = await api(`/api/v1/accounts/${a}/topics/w1/messages?limit=3`, { token: agent });
    expect(first.json.messages.map((m: any) => m.id)).toEqual(["c4", "c5", "c6"]);
    expect(first.json.hasMore).toBe(true);
    const before = first.json.messages[0].seq;
    const second = await api(`/api/v1/accounts/${a}/topics/w1/messages?limit=3&before=${before}`, { token: agent });
    expect(second.json.messages.map((m: any) => m.id)).toEqual(["c1", "c2", "c3"]);
    const socket = await roomSocket(a);
    const last = await socket.request(
      "monitor:request_messages",
      { topicId: "w1", before: second.json.messages[0].seq, limit: 3 },
      "monitor:messages",
    );
    expect(last.payload).toMatchObject({ channelId: a, topicId: "w1", hasMore: false });
    expect(last.payload.messages.map((m: any) => m.id)).toEqual(["c0"]);
    const bad = await api(`/api/v1/accounts/${a}/topics/w1/messages?limit=0`, { token: agent });
    expect(bad.json.error).toMatchObject({ code: "invalid_query", issues: [{ path: "limit" }] });
    socket.close();
  });

  it("monitor:mark_read clears the topic's unread for the whole team and rolls up into the channel", async () => {
    const tenant = uid("tn");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1"), comment("c2", "w1"), comment("c3", "w2")] }, { tenant });
    const me = await roomSocket(a, { tenant });
    const colleague = await roomSocket(a, { tenant });
    const directory = await directorySocket("agent", tenant);
    me.send({ type: "monitor:mark_read", payload: { topicId: "w1" } });
    const update = await colleague.next("topic:updated");
    expect(update.payload.topic).toMatchObject({ id: "w1", unreadCount: 0, messageCount: 2 });
    const channel = await directory.next("channel:updated");
    expect(channel.payload.channel.unreadCount).toBe(1);
    // New inbound messages after the mark are unread again.
    await push(a, { comments: [comment("c4", "w1")] }, { tenant });
    const topics = await api(`/api/v1/accounts/${a}/topics`, { token: await token("agent", { tenant }) });
    expect(topics.json.topics.find((t: any) => t.id === "w1").unreadCount).toBe(1);
    for (const s of [me, colleague, directory]) s.close();
  });

  it("the account's own comments are outbound and never unread", async () => {
    const a = uid("acc");
    await push(
      a,
      { comments: [comment("c1", "w1", { author_id: "self-1" }), comment("c2", "w1")] },
      { account: { platform_user_id: "self-1" } },
    );
    const page = await api(`/api/v1/accounts/${a}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.map((m: any) => m.direction)).toEqual(["out", "in"]);
    const topics = await api(`/api/v1/accounts/${a}/topics`, { token: await token("agent") });
    expect(topics.json.topics[0].unreadCount).toBe(1);
  });

  it("notifications arrive live as notification:new", async () => {
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] });
    const socket = await roomSocket(a);
    await push(a, {
      notifications: [
        {
          notification_id: "n1",
          type: "follow",
          title: "New follower",
          content: "小明 followed you",
          create_time: 1_730_000_000,
          related_id: null,
        },
      ],
    });
    const frame = await socket.next("notification:new");
    expect(frame.payload.notification).toEqual({
      id: "n1",
      channelId: a,
      type: "follow",
      title: "New follower",
      content: "小明 followed you",
      timestamp: 1_730_000_000_000,
    });
    socket.close();
  });
});
