/**
 * Against the real backend: the seeds/000 low-level `on` / `off` / `emit`, and the progress
 * of a long catch-up (`onSyncProgress`, `onSyncComplete`).
 */
import { describe, expect, it } from "vitest";
import { createClient, memoryStorage } from "../../client/adapter";
import type { SeqStorage, SyncCompleteEvent, SyncProgressEvent, WebSocketService } from "../../client/adapter";
import { waitFor } from "./network";
import { useBackend } from "./use-backend";

const live = useBackend();
const { clients } = live;

let counter = 0;

async function newAccount(): Promise<string> {
  const accountId = `low-${Date.now().toString(36)}-${++counter}`;
  await live.backend.push(accountId, { contents: [{ work_id: "w1", title: "Launch video" }] });
  return accountId;
}

function comments(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    comment_id: `c${from + i}`,
    work_id: "w1",
    content: `comment ${from + i}`,
    create_time: 1_730_000_000 + from + i,
  }));
}

async function connect(client: WebSocketService, accounts: string[], storage: SeqStorage = memoryStorage()) {
  await client.connect(live.backend.url, {
    token: () => live.backend.token("agent", { sub: `agent-${++counter}` }),
    storage,
    accounts,
    clientId: `desk-${counter}`,
    requestTimeout: 5000,
  });
}

function newClient(): WebSocketService {
  const client = createClient();
  clients.push(client);
  return client;
}

async function ready(client: WebSocketService, accountId: string): Promise<void> {
  await waitFor(() => client.getAccountState(accountId)?.position.seq != null, `${accountId} to be ready`);
}

describe("on / off / emit", () => {
  it("emit sends a frame on the named account's socket, and on(type) gets its answer's payload", async () => {
    const accountId = await newAccount();
    const other = await newAccount();
    const client = newClient();
    await connect(client, [accountId, other]);
    await ready(client, accountId);
    await ready(client, other);
    const topics: { channelId: string; topics: { id: string }[] }[] = [];
    client.on("monitor:topics", (data) => topics.push(data));
    expect(client.emit("monitor:request_topics", { accountId })).toBe(true);
    await waitFor(() => topics.length === 1, "monitor:topics");
    expect(topics[0]!.channelId).toBe(accountId);
    expect(topics[0]!.topics.map((t) => t.id)).toEqual(["w1"]);
  }, 30_000);

  it("a Directory frame goes to the Directory, also with one account open; off(type) stops the listener", async () => {
    const accountId = await newAccount();
    const client = newClient();
    await connect(client, [accountId]);
    await ready(client, accountId);
    const answers: { channels: { id: string }[] }[] = [];
    client.on("monitor:channels", (data) => answers.push(data));
    expect(client.emit("monitor:request_channels", {})).toBe(true);
    await waitFor(() => answers.some((a) => a.channels.some((c) => c.id === accountId)), "monitor:channels");
    client.off("monitor:channels");
    // The Directory also answers its socket's registration with a monitor:channels, which can
    // come at any time: what counts is that nothing more reaches the removed listener.
    const heard = answers.length;
    expect(client.emit("monitor:request_channels", {})).toBe(true);
    const later: unknown[] = [];
    client.on("monitor:channels", (data) => later.push(data));
    await waitFor(() => later.length > 0, "the answer to the second request_channels");
    expect(answers).toHaveLength(heard);
  }, 30_000);

  it("a frame naming a channelId reaches that account, its socket opened on demand and the frame held until open", async () => {
    const first = await newAccount();
    const second = await newAccount();
    const client = newClient();
    const topics: { channelId: string; topics: { id: string }[] }[] = [];
    client.on("monitor:topics", (data) => topics.push(data));
    await connect(client, [first]);
    expect(client.getAccounts()).toEqual([first]);
    // The crm way: topics by channelId, sent before that account has a socket at all.
    expect(client.emit("monitor:request_topics", { channelId: second })).toBe(true);
    expect(client.getAccounts().sort()).toEqual([first, second].sort());
    await waitFor(() => topics.some((t) => t.channelId === second), "the second account's topics");
    // A topic listed that way can be replied to without naming its account.
    const echoes: { id: string; clientMsgId?: string }[] = [];
    client.onMessage((message, context) => echoes.push({ id: message.id, clientMsgId: context.clientMsgId }));
    const sent = await client.sendMessage({ topicId: "w1", content: "Thanks!", clientMsgId: "local-1" }, {});
    expect(sent.message).toMatchObject({ content: "Thanks!" });
    expect(sent.context.clientMsgId).toBe("local-1");
    // Its echo names the id the app sent, so the app can show its own reply once.
    await waitFor(() => echoes.some((e) => e.id === sent.message.id), "the reply's echo");
    expect(echoes.find((e) => e.id === sent.message.id)?.clientMsgId).toBe("local-1");
    const response = await live.backend.api(`/api/v1/accounts/${second}/commands?status=pending`, "crawler");
    const { commands } = (await response.json()) as { commands: { content: string }[] };
    expect(commands.map((c) => c.content)).toEqual(["Thanks!"]);
  }, 30_000);

  it("frames emitted right after connect(), as seed 000's app does without awaiting it, are sent once connected", async () => {
    const accountId = await newAccount();
    const client = newClient();
    const topics: { channelId: string }[] = [];
    const channels: { channels: { id: string }[] }[] = [];
    client.on("monitor:topics", (data) => topics.push(data));
    client.on("monitor:channels", (data) => channels.push(data));
    const connecting = connect(client, []);
    expect(client.emit("monitor:request_channels", {})).toBe(true);
    expect(client.emit("monitor:request_topics", { channelId: accountId })).toBe(true);
    await connecting;
    await waitFor(() => topics.some((t) => t.channelId === accountId), "the topics asked for before connecting");
    await waitFor(() => channels.some((c) => c.channels.some((ch) => ch.id === accountId)), "the channels");
  }, 30_000);

  it("what cannot be sent is refused with an error event naming why, never dropped in silence", async () => {
    const early = newClient();
    const errors: { code: string; message: string; accountId?: string }[] = [];
    early.onError((error, source) => errors.push({ code: error.code, message: error.message, ...source }));
    expect(early.emit("monitor:request_topics", { channelId: "acc-1" })).toBe(false);
    expect(errors.at(-1)).toMatchObject({ code: "disconnected" });

    const first = await newAccount();
    const second = await newAccount();
    await connect(early, [first, second]);
    expect(early.emit("monitor:request_topics", {})).toBe(false);
    expect(errors.at(-1)).toMatchObject({ code: "unknown_account", message: expect.stringContaining("channelId") });
    expect(early.emit("monitor:request_topics", { channelId: "not an id!" })).toBe(false);
    expect(errors.at(-1)).toMatchObject({ code: "invalid_argument" });
    // A frame type the room does not know is sent, and the room's refusal reaches onError.
    expect(early.emit("monitor:request_topicz", { channelId: first })).toBe(true);
    await waitFor(
      () => errors.some((e) => e.accountId === first && e.message.includes("monitor:request_topicz")),
      () => JSON.stringify(errors),
    );

    // A crm app never awaits sendMessage: the failure reaches onError, and the promise rejects.
    const unknownTopic = early.sendMessage({ topicId: "w-nowhere", content: "Hello?" });
    await expect(unknownTopic).rejects.toMatchObject({ code: "unknown_account" });
    await waitFor(() => errors.some((e) => e.message.includes("w-nowhere")), "the unknown topic's error event");
    const tooLong = early.sendMessage({ topicId: "w1", content: "x".repeat(2_001) }, { accountId: first });
    await expect(tooLong).rejects.toMatchObject({ code: "invalid_argument", issues: [{ path: "content" }] });
    await waitFor(() => errors.some((e) => e.message.includes("at most 2000")), "the long reply's error event");
    expect(early.getAccountState(first)?.queuedReplies).toEqual([]);
  }, 30_000);

  it("holds at most 100 frames while connect is under way, and reports each held one a disconnect drops", async () => {
    const client = newClient();
    const errors: { code: string; message: string }[] = [];
    client.onError((error) => errors.push({ code: error.code, message: error.message }));
    // A token getter that has not answered yet: connect is under way, no socket exists.
    const connecting = client.connect(live.backend.url, { token: () => new Promise<string>(() => undefined) });
    for (let i = 0; i < 100; i++) expect(client.emit("monitor:request_channels", {})).toBe(true);
    expect(client.emit("monitor:request_channels", {})).toBe(false);
    expect(errors).toEqual([{ code: "queue_full", message: expect.stringContaining("100 frames already wait") }]);
    client.disconnect();
    expect(errors.filter((e) => e.code === "disconnected" && e.message.includes("not sent"))).toHaveLength(100);
    void connecting;
  }, 30_000);

  it("a reply for an account outside the token's accounts fails at once, visibly", async () => {
    const mine = await newAccount();
    const other = await newAccount();
    const client = newClient();
    const errors: { code: string; accountId?: string }[] = [];
    client.onError((error, source) => errors.push({ code: error.code, ...source }));
    await client.connect(live.backend.url, {
      token: () => live.backend.token("agent", { sub: `agent-${++counter}`, accounts: [mine] }),
      storage: memoryStorage(),
      accounts: [mine],
      requestTimeout: 5000,
    });
    const reply = client.sendMessage({ topicId: "w1", content: "Hi" }, { accountId: other });
    await expect(reply).rejects.toMatchObject({ code: "forbidden", message: expect.stringContaining(other) });
    await waitFor(() => errors.some((e) => e.code === "forbidden" && e.accountId === other), "the error event");
    expect(client.emit("monitor:request_topics", { channelId: other })).toBe(false);
    expect(client.getAccounts()).toEqual([mine]);
    const listed = newClient();
    const token = () => live.backend.token("agent", { sub: `agent-${++counter}`, accounts: [mine] });
    await expect(listed.connect(live.backend.url, { token, accounts: [mine, other] })).rejects.toMatchObject({
      code: "forbidden",
      message: expect.stringContaining(other),
    });
    expect(listed.getIsConnected()).toBe(false);
  }, 30_000);

  it("on works before connect and gets every room's monitor:registered (which carries a seq)", async () => {
    const accountId = await newAccount();
    const client = newClient();
    const registered: { clientId: string; seq: number }[] = [];
    client.on("monitor:registered", (data) => registered.push(data));
    await connect(client, [accountId]);
    await waitFor(() => registered.some((r) => typeof r.seq === "number"), "the room's monitor:registered");
    expect(registered.find((r) => typeof r.seq === "number")!.clientId).toBe(client.getClientId());
  }, 30_000);

  it("on(event type) gets each account event once, also when a batch carried it", async () => {
    const accountId = await newAccount();
    const client = newClient();
    await connect(client, [accountId]);
    await ready(client, accountId);
    const ids: string[] = [];
    client.on("channel:message", (data) => ids.push(data.message.id));
    await live.backend.push(accountId, { comments: comments(1, 3) });
    await waitFor(() => ids.length === 3, "three channel:message payloads");
    expect(ids).toEqual(["c1", "c2", "c3"]);
  }, 30_000);
});

describe("onSyncProgress / onSyncComplete", () => {
  it("a client back after 250 new comments sees the catch-up's progress, then its end", async () => {
    const accountId = await newAccount();
    const storage = memoryStorage();
    const client = newClient();
    await connect(client, [accountId], storage);
    await ready(client, accountId);
    client.disconnect();
    const pushed = await live.backend.push(accountId, { comments: comments(1, 250) });

    const progress: SyncProgressEvent[] = [];
    const complete: SyncCompleteEvent[] = [];
    let messages = 0;
    client.onSyncProgress((event) => progress.push(event));
    client.onSyncComplete((event) => complete.push(event));
    client.onMessage(() => void messages++);
    await connect(client, [accountId], storage);
    await waitFor(() => complete.some((c) => c.seq === pushed.seq), "sync:complete at the pushed seq");
    expect(messages).toBe(250);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const total = progress[0]!.total;
    expect(total).toBeGreaterThanOrEqual(250);
    expect(progress.map((p) => p.sent)).toEqual(progress.map((_, i) => (i + 1) * 100));
    expect(progress.every((p) => p.accountId === accountId && p.total === total)).toBe(true);
    expect(complete.at(-1)).toMatchObject({ accountId, seq: pushed.seq, epoch: expect.any(String) });
  }, 30_000);
});
