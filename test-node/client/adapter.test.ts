/**
 * The adapter against the real backend (wrangler in Node): what an app written against the
 * seeds/000 WebSocketService sees through drops, outages and restarts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkToken, createClient, memoryStorage, RequestTimeoutError } from "../../client/adapter";
import type {
  Channel,
  LoginStatusEvent,
  Message,
  MessageContext,
  QrCodeEvent,
  SeqStorage,
  SyncResetEvent,
  WebSocketService,
} from "../../client/adapter";
import { MAX_TOPICS_LISTED } from "../../src/contract/wire";
import { startBackend } from "../backend";
import type { Backend } from "../backend";
import { network, sleep, waitFor } from "./network";
import type { Network } from "./network";

const FAST_RECONNECT = { minDelay: 30, maxDelay: 250, minUptime: 200, connectTimeout: 3000 };

let backend: Backend;
const clients: WebSocketService[] = [];

beforeAll(async () => {
  backend = await startBackend();
});

afterAll(async () => {
  await backend?.stop();
});

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

let accountCounter = 0;
let agentCounter = 0;
/** A token of its own agent per client, so per-token limits of one test never touch another. */
function agentToken(): () => Promise<string> {
  const sub = `agent-${++agentCounter}`;
  return () => backend.token("agent", { sub });
}

/** A fresh account, registered by a first crawler push (agents get 403 before that). */
async function newAccount(): Promise<string> {
  const accountId = `douyin-${Date.now().toString(36)}-${++accountCounter}`;
  await backend.push(accountId, { contents: [{ work_id: "w0", title: "Launch video" }] });
  return accountId;
}

function comment(id: string, work = "w1", content = `comment ${id}`) {
  return { comment_id: id, work_id: work, content, author_id: "u9", author_name: "Lin", create_time: 1_730_000_000 };
}

type Setup = { client: WebSocketService; net: Network; received: Array<{ message: Message; context: MessageContext }> };

async function connect(
  options: {
    accounts?: string[] | "all";
    storage?: SeqStorage;
    token?: () => Promise<string>;
    requestTimeout?: number;
    clientId?: string;
    ackInterval?: number;
  } = {},
): Promise<Setup> {
  const net = network();
  const client = createClient();
  clients.push(client);
  const received: Setup["received"] = [];
  client.onMessage((message, context) => received.push({ message, context }));
  await client.connect(backend.url, {
    token: options.token ?? agentToken(),
    WebSocket: net.WebSocket,
    storage: options.storage ?? memoryStorage(),
    reconnect: FAST_RECONNECT,
    requestTimeout: options.requestTimeout ?? 5000,
    ackInterval: options.ackInterval ?? 200,
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.clientId ? { clientId: options.clientId } : {}),
  });
  return { client, net, received };
}

/** Until the room has said where it stands: from then on no event can be missed. */
async function ready(client: WebSocketService, accountId: string): Promise<void> {
  await waitFor(() => {
    const state = client.getAccountState(accountId);
    return state !== undefined && state.open && state.position.seq !== null;
  }, `${accountId} to be ready`);
}

describe("live messages", () => {
  it("arrive as crm Messages, with their context beside them, at every listener", async () => {
    const accountId = await newAccount();
    const { client, received } = await connect({ accounts: [accountId] });
    const second: Message[] = [];
    const stop = client.onMessage((message) => second.push(message));
    await ready(client, accountId);

    await backend.push(accountId, {
      comments: [comment("c1", "w1", "when does it ship?")],
      messages: [
        {
          msg_id: "m1",
          conversation_id: "cv1",
          content: "https://img/p.png",
          msg_type: "image",
          sender: { user_id: "u7", user_name: "Wang" },
          direction: "in",
          create_time: 1_730_000_100,
        },
      ],
    });
    await waitFor(() => received.length === 2, "two messages");

    expect(received.map((r) => r.message)).toEqual([
      {
        id: "c1",
        fromId: "u9",
        fromName: "Lin",
        toId: "",
        topic: "w1",
        content: "when does it ship?",
        type: "TEXT",
        timestamp: 1_730_000_000_000,
      },
      expect.objectContaining({
        id: "m1",
        fromId: "u7",
        fromName: "Wang",
        topic: "cv1",
        type: "IMAGE",
        timestamp: 1_730_000_100_000,
      }),
    ]);
    expect(received[0]!.context).toMatchObject({
      channelId: accountId,
      topicId: "w1",
      kind: "comment",
      direction: "in",
    });
    expect(received[1]!.context).toMatchObject({ channelId: accountId, kind: "dm" });
    expect(received[1]!.context.seq).toBeGreaterThan(received[0]!.context.seq);
    expect(second.map((m) => m.id)).toEqual(["c1", "m1"]);

    stop();
    await backend.push(accountId, { comments: [comment("c2")] });
    await waitFor(() => received.length === 3, "a third message");
    expect(second).toHaveLength(2);
  });

  it("follows the Directory: an account pushed after connect gets a socket and its messages", async () => {
    const { client, received } = await connect();
    const channelIds: string[][] = [];
    client.onChannels((channels) => channelIds.push(channels.map((c) => c.id)));
    const accountId = await newAccount();
    await waitFor(() => client.getAccounts().includes(accountId), "the new account to be opened");
    await ready(client, accountId);
    await backend.push(accountId, { comments: [comment("late-1")] });
    await waitFor(() => received.some((r) => r.message.id === "late-1"), "the new account's message");
    expect(channelIds.some((ids) => ids.includes(accountId))).toBe(true);
    expect(client.getChannels().map((c) => c.id)).toContain(accountId);
  });
});

describe("exactly once", () => {
  it("500 messages pushed while the socket is dropped at random moments arrive exactly once, in order", async () => {
    const accountId = await newAccount();
    const { client, net, received } = await connect({ accounts: [accountId] });
    await ready(client, accountId);

    let pushing = true;
    let drops = 0;
    const dropper = (async () => {
      while (pushing) {
        await sleep(40 + Math.random() * 160);
        drops += net.drop(`/accounts/${accountId}/`);
      }
    })();
    const expected: string[] = [];
    for (let push = 0; push < 50; push++) {
      const batch = Array.from({ length: 10 }, (_, i) => comment(`c${push * 10 + i}`, `w${push % 3}`));
      expected.push(...batch.map((c) => c.comment_id));
      await backend.push(accountId, { comments: batch });
      await sleep(Math.random() * 30);
    }
    pushing = false;
    await dropper;

    await waitFor(() => received.length >= 500, "500 messages", 45_000);
    await sleep(300);
    expect(drops).toBeGreaterThanOrEqual(3);
    expect(received.map((r) => r.message.id)).toEqual(expected);
    const seqs = received.map((r) => r.context.seq);
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
  });

  it("a client restarted on the same storage gets what it missed, and nothing twice", async () => {
    const accountId = await newAccount();
    const storage = memoryStorage();
    const first = await connect({ accounts: [accountId], storage });
    await ready(first.client, accountId);
    await backend.push(accountId, { comments: [comment("before-1"), comment("before-2")] });
    await waitFor(() => first.received.length === 2, "the first two");
    first.client.disconnect();

    await backend.push(accountId, { comments: [comment("while-away-1"), comment("while-away-2")] });
    const second = await connect({ accounts: [accountId], storage });
    await waitFor(() => second.received.length === 2, "what was missed");
    await backend.push(accountId, { comments: [comment("after-1")] });
    await waitFor(() => second.received.length === 3, "the next live one");
    await sleep(200);
    expect(second.received.map((r) => r.message.id)).toEqual(["while-away-1", "while-away-2", "after-1"]);
  });

  it("surfaces sync:reset when the stored position belongs to another epoch, then carries on", async () => {
    const accountId = await newAccount();
    const storage = memoryStorage();
    storage.setItem(
      `hiscrm-im:${backend.tenant}:${accountId}:position`,
      JSON.stringify({ seq: 1, epoch: "a-lost-epoch" }),
    );
    const net = network();
    const client = createClient({ WebSocket: net.WebSocket, storage, reconnect: FAST_RECONNECT });
    clients.push(client);
    const resets: SyncResetEvent[] = [];
    const received: string[] = [];
    client.onSyncReset((event) => resets.push(event));
    client.onMessage((message) => received.push(message.id));
    await client.connect(backend.url, { token: agentToken(), accounts: [accountId] });

    await waitFor(() => resets.length === 1, "a reset");
    expect(resets[0]).toMatchObject({ accountId, seq: expect.any(Number), epoch: expect.any(String) });
    expect(resets[0]!.epoch).not.toBe("a-lost-epoch");
    await ready(client, accountId);
    await backend.push(accountId, { comments: [comment("after-reset")] });
    await waitFor(() => received.length === 1, "the message after the reset");
    expect(received).toEqual(["after-reset"]);
    expect(resets).toHaveLength(1);
  });
});

describe("requests", () => {
  it("requestTopics and requestMessages answer with topics, conversations and crm messages", async () => {
    const accountId = await newAccount();
    await backend.push(accountId, {
      comments: [comment("c1", "w0"), comment("c2", "w0")],
      conversations: [
        { conversation_id: "cv1", participant: { user_id: "u7", user_name: "Wang" }, update_time: 1_730_000_000 },
      ],
    });
    const { client } = await connect({ accounts: [accountId] });

    const topics = await client.requestTopics(accountId);
    expect(topics.map((t) => t.id).sort()).toEqual(["cv1", "w0"]);
    const conversations = await client.requestConversations(accountId);
    expect(conversations.find((c) => c.topic === "cv1")).toMatchObject({ friendName: "Wang", friendId: "cv1" });

    const page = await client.requestMessages(accountId, "w0", { limit: 1 });
    expect(page.messages).toHaveLength(1);
    expect(page.messages[0]).toMatchObject({ id: "c2", topic: "w0", type: "TEXT" });
    expect(page.hasMore).toBe(true);
    const older = await client.requestMessages(accountId, "w0", { before: page.before!, limit: 1 });
    expect(older.messages.map((m) => m.id)).toEqual(["c1"]);
  });

  it("requestTopics gives every topic of an account with more than one answer holds", async () => {
    const accountId = await newAccount();
    const comments = Array.from({ length: MAX_TOPICS_LISTED + 150 }, (_, i) => comment(`c${i}`, `w${i + 1}`));
    await backend.push(accountId, { comments });
    const { client } = await connect({ accounts: [accountId] });
    const topics = await client.requestTopics(accountId);
    expect(new Set(topics.map((t) => t.id)).size).toBe(MAX_TOPICS_LISTED + 151);
  });

  it("an error frame rejects the request it answers", async () => {
    const accountId = await newAccount();
    const { client } = await connect({ accounts: [accountId] });
    const error = await client.requestMessages(accountId, "w0", { limit: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "AdapterError",
      code: "invalid_frame",
      requestType: "monitor:request_messages",
    });
    expect((error as Error).message).toMatch(/limit/);
  });

  it("a request nobody answers rejects with a timeout error, and the next one works", async () => {
    const accountId = await newAccount();
    const { client, net } = await connect({ accounts: [accountId], requestTimeout: 400 });
    await ready(client, accountId);
    net.setMuted(true);
    const error = await client.requestTopics(accountId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toMatch(/monitor:request_topics \(request \w+\) got no answer within 400 ms/);
    net.setMuted(false);
    await expect(client.requestTopics(accountId)).resolves.toEqual(expect.any(Array));
  });

  it("a burst of requests is paced under the backend's frame limit and every one is answered", async () => {
    const accountId = await newAccount();
    await backend.push(accountId, { comments: Array.from({ length: 40 }, (_, i) => comment(`c${i}`, `w${i}`)) });
    const { client } = await connect({ accounts: [accountId] });
    await ready(client, accountId);
    const pages = await Promise.all(Array.from({ length: 40 }, (_, i) => client.requestMessages(accountId, `w${i}`)));
    expect(pages.map((page) => page.messages[0]?.id)).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`));
  });

  it("a request made while offline is sent when the socket comes back", async () => {
    const accountId = await newAccount();
    const { client, net } = await connect({ accounts: [accountId] });
    await ready(client, accountId);
    net.setOffline(true);
    net.drop();
    await waitFor(() => !client.getAccountState(accountId)!.open, "the socket to be down");
    const topics = client.requestTopics(accountId);
    await sleep(200);
    net.setOffline(false);
    await expect(topics).resolves.toEqual(expect.arrayContaining([expect.objectContaining({ id: "w0" })]));
  });
});

describe("the seeds/000 WebSocketService calls", () => {
  it("connect, registerClient, heartbeat, getIsConnected, getClientId, disconnect", async () => {
    const accountId = await newAccount();
    const { client, net } = await connect({ accounts: [accountId] });
    expect(client.getIsConnected()).toBe(true);
    await client.registerClient("device-42", "desktop");
    expect(client.getClientId()).toBe("device-42");

    client.startHeartbeat(60);
    await sleep(300);
    const pings = net.sent.filter((frame) => frame === '{"type":"ping"}');
    expect(pings.length).toBeGreaterThanOrEqual(4);
    client.stopHeartbeat();
    const count = net.sent.length;
    await sleep(200);
    expect(net.sent.filter((frame, i) => i >= count && frame.includes("ping"))).toEqual([]);

    client.startHeartbeat(60);
    client.disconnect();
    expect(client.getIsConnected()).toBe(false);
    const after = net.sent.length;
    await sleep(200);
    expect(net.sent.length).toBe(after);
  });

  it("registerClient rejects when not connected, connect rejects a bad token", async () => {
    const client = createClient();
    clients.push(client);
    await expect(client.registerClient("d")).rejects.toMatchObject({ code: "disconnected" });
    const net = network();
    await expect(
      client.connect(backend.url, {
        token: "not-a-token",
        WebSocket: net.WebSocket,
        reconnect: { ...FAST_RECONNECT, maxRetries: 0 },
      }),
    ).rejects.toThrow(/401/);
  });

  it("asks the token getter again before every reconnect", async () => {
    const accountId = await newAccount();
    let calls = 0;
    const { client, net } = await connect({
      accounts: [accountId],
      token: () => {
        calls++;
        return backend.token("agent", { sub: "refreshing-agent", ttl: 600 });
      },
    });
    await ready(client, accountId);
    const before = calls;
    net.drop();
    await waitFor(
      () => calls >= before + 2 && client.getIsConnected() && client.getAccountState(accountId)!.open,
      "both sockets to reconnect",
    );
  });

  it("replaces a socket that stops answering the heartbeat, and says so in connection-state events", async () => {
    const accountId = await newAccount();
    // Frames lost while muted may include a new socket's monitor:register; that socket is
    // replaced when the request timeout runs out.
    const { client, net, received } = await connect({ accounts: [accountId], requestTimeout: 800 });
    await ready(client, accountId);
    const states: string[] = [];
    client.onConnectionState((event) => {
      if (event.accountId === accountId) states.push(event.state);
    });
    const opened = net.opened();
    client.startHeartbeat(80);
    net.setMuted(true);
    await waitFor(() => net.opened() > opened, "a new socket");
    // The heartbeat did its part. Stopped, it cannot replace the new socket again on a machine
    // too busy to hear anything within its 200 ms, so the socket gets to stay open.
    client.stopHeartbeat();
    net.setMuted(false);
    await waitFor(() => states.at(-1) === "open", "the account socket to be open again");
    expect(states).toContain("reconnecting");
    await backend.push(accountId, { comments: [comment("after-silence")] });
    await waitFor(() => received.some((r) => r.message.id === "after-silence"), "a message on the new socket");
  });

  it("sendNotificationAck moves the device's cursor: a fresh install with its id resumes after it", async () => {
    const accountId = await newAccount();
    const clientId = `device-${accountId}`;
    // The cursor is the agent's on this device: the fresh install signs in as the same agent.
    const token = agentToken();
    const first = await connect({ accounts: [accountId], clientId, ackInterval: 0, token });
    await ready(first.client, accountId);
    const notifications: string[] = [];
    first.client.onNotification((event) => notifications.push(event.notification.id));
    await backend.push(accountId, {
      notifications: [{ notification_id: "n1", type: "like", title: "New like", create_time: 1_730_000_000 }],
    });
    await waitFor(() => notifications.length === 1, "the notification");
    expect(first.client.sendNotificationAck("n1")).toBe(true);
    await sleep(200);
    first.client.disconnect();

    await backend.push(accountId, { comments: [comment("after-ack")] });
    const second = await connect({ accounts: [accountId], clientId, storage: memoryStorage(), token });
    await waitFor(() => second.received.length === 1, "the comment pushed after the ack");
    expect(second.received.map((r) => r.message.id)).toEqual(["after-ack"]);
  });

  it("markRead clears a topic's unread count for everyone (topic:updated)", async () => {
    const accountId = await newAccount();
    const { client } = await connect({ accounts: [accountId] });
    await ready(client, accountId);
    const updates: Array<{ unread: number; flashing: boolean }> = [];
    client.onTopicUpdated((event) =>
      updates.push({ unread: event.topic.unreadCount, flashing: event.conversation.isFlashing }),
    );
    await backend.push(accountId, { comments: [comment("c1", "w0")] });
    await waitFor(() => updates.some((u) => u.unread > 0), "an unread topic");
    client.markRead("w0");
    await waitFor(() => updates.at(-1)?.unread === 0, "the topic to be read");
    expect(updates.at(-1)).toEqual({ unread: 0, flashing: false });
  });
});

describe("replies", () => {
  it("go to the account the topic was seen on; a topic of no known account is refused", async () => {
    const [first, second] = [await newAccount(), await newAccount()];
    const { client, received } = await connect({ accounts: [first, second] });
    await ready(client, first);
    await ready(client, second);
    await backend.push(second, { comments: [comment("c1", "w-second")] });
    await waitFor(() => received.length === 1, "the comment");

    const sent = await client.sendMessage({ topicId: "w-second", content: "Noted" });
    expect(sent.context.channelId).toBe(second);
    await expect(client.sendMessage({ topicId: "w-nowhere", content: "Hello?" })).rejects.toMatchObject({
      code: "unknown_account",
    });
  });

  it("a reply typed offline, or whose answer was lost, is posted once however often it is sent", async () => {
    const accountId = await newAccount();
    await backend.push(accountId, { comments: [comment("c1", "w0")] });
    const { client, net, received } = await connect({ accounts: [accountId] });
    await ready(client, accountId);

    net.setOffline(true);
    net.drop();
    await waitFor(() => !client.getAccountState(accountId)!.open, "the socket to be down");
    const reply: Message = {
      id: "local-1",
      fromId: "agent-1",
      fromName: "Agent",
      toId: "",
      topic: "w0",
      content: "Thanks!",
      type: "TEXT",
      timestamp: Date.now(),
    };
    const first = client.sendMessage(reply, { accountId, replyToId: "c1" });
    const again = client.sendMessage(reply, { accountId, replyToId: "c1" });
    expect(client.getAccountState(accountId)!.queuedReplies).toHaveLength(1);

    net.setOffline(false);
    const accepted = await first;
    await again;
    expect(accepted.context).toMatchObject({ kind: "reply", direction: "out", channelId: accountId });
    expect(accepted.message).toMatchObject({ topic: "w0", content: "Thanks!" });
    expect(client.getAccountState(accountId)!.queuedReplies).toEqual([]);

    // Sent once more after the answer, as a retrying app would: still one reply.
    await client.sendMessage(reply, { accountId });
    // A reply whose socket dies before the answer comes is sent again on the next one.
    const second = client.sendMessage(
      { topicId: "w0", content: "Anything else?", clientMsgId: "local-2" },
      { accountId },
    );
    net.drop();
    await expect(second).resolves.toMatchObject({ message: { content: "Anything else?" } });

    const response = await backend.api(`/api/v1/accounts/${accountId}/commands?status=pending`, "crawler");
    const { commands } = (await response.json()) as { commands: Array<{ content: string }> };
    expect(commands.map((c) => c.content).sort()).toEqual(["Anything else?", "Thanks!"]);
    await waitFor(() => received.filter((r) => r.context.kind === "reply").length >= 2, "the replies as messages");
    await sleep(200);
    expect(received.filter((r) => r.context.kind === "reply").map((r) => r.message.content)).toEqual([
      "Thanks!",
      "Anything else?",
    ]);
  });
});

describe("what the web console needs", () => {
  it("checkToken tells a good token from a malformed, an expired, a crawler's and an unreachable backend", async () => {
    const good = await checkToken(backend.url, await backend.token("admin", { sub: "ann" }));
    expect(good).toMatchObject({ ok: true, role: "admin", tenant: backend.tenant, subject: "ann" });

    expect(await checkToken(backend.url, "not-a-token")).toMatchObject({ ok: false, problem: "malformed" });
    const expired = await checkToken(backend.url, await backend.token("agent", { ttl: -60 }));
    expect(expired).toEqual({ ok: false, problem: "expired", message: "token has expired" });
    const crawler = await checkToken(backend.url, await backend.token("crawler"));
    expect(crawler).toMatchObject({ ok: false, problem: "forbidden" });
    expect(crawler.ok || crawler.message).toMatch(/role crawler/);
    expect(await checkToken("http://127.0.0.1:9", "x.y.z")).toMatchObject({ ok: false, problem: "unreachable" });
  });

  it("updateChannel renames, pins and disables a channel for every client; an agent is refused", async () => {
    const accountId = await newAccount();
    const admin = await connect({ token: () => backend.token("admin", { sub: "admin-uc" }) });
    const agent = await connect();
    await waitFor(() => agent.client.getChannels().some((c) => c.id === accountId), "the channel");
    const seen: Channel[][] = [];
    agent.client.onChannels((channels) => seen.push(channels));

    const channel = await admin.client.updateChannel(accountId, { name: "客服 🎧", isPinned: true, enabled: false });
    expect(channel).toMatchObject({ id: accountId, name: "客服 🎧", isPinned: true, enabled: false });
    await waitFor(() => seen.some((list) => list[0]?.id === accountId && list[0].name === "客服 🎧"), "the rename");

    await expect(agent.client.updateChannel(accountId, { name: "mine" })).rejects.toMatchObject({ code: "forbidden" });
  });

  it("startLogin starts a QR login; the QR code and the status reach the admin live", async () => {
    const accountId = await newAccount();
    const admin = await connect({ accounts: [accountId], token: () => backend.token("admin", { sub: "admin-qr" }) });
    const statuses: LoginStatusEvent[] = [];
    const codes: QrCodeEvent[] = [];
    admin.client.onLoginStatus((event) => statuses.push(event));
    admin.client.onQrCode((event) => codes.push(event));
    await ready(admin.client, accountId);

    await admin.client.startLogin(accountId);
    await waitFor(() => statuses.some((s) => s.status === "pending"), "login pending");
    const image = "data:image/png;base64,iVBORw0KGgo=";
    const expiresAt = Date.now() + 60_000;
    const crawler = { "content-type": "application/json" };
    const qr = await backend.api(`/api/v1/accounts/${accountId}/qrcode`, "crawler", {
      method: "POST",
      headers: crawler,
      body: JSON.stringify({ image, expiresAt }),
    });
    expect(qr.status).toBeLessThan(300);
    await waitFor(() => codes.length === 1, "the QR code");
    expect(codes[0]).toMatchObject({ accountId, image, expiresAt });
    const done = await backend.api(`/api/v1/accounts/${accountId}/login/status`, "crawler", {
      method: "POST",
      headers: crawler,
      body: JSON.stringify({ status: "success" }),
    });
    expect(done.status).toBeLessThan(300);
    await waitFor(() => statuses.at(-1)?.status === "success", "login success");

    const agent = await connect({ accounts: [accountId] });
    await expect(agent.client.startLogin(accountId)).rejects.toMatchObject({ code: "forbidden" });
  });

  it("onTokenExpired fires when the server closes a socket whose token expired (4001)", async () => {
    const accountId = await newAccount();
    const token = await backend.token("agent", { sub: "agent-short", ttl: 3 });
    const { client } = await connect({ accounts: [accountId], token: async () => token });
    const expired: Array<{ accountId?: string }> = [];
    client.onTokenExpired((source) => expired.push(source));
    await ready(client, accountId);
    await sleep(3_500);
    // The server checks the token on the next frame.
    client.markRead("w0", { accountId });
    await waitFor(() => expired.some((source) => source.accountId === accountId), "4001 on the account socket");
  });
});
