import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, comment, connect, conversation, dm, push, roomSocket, token, uid } from "./helpers";
import type { TestSocket } from "./helpers";

const stubOf = (account: string, tenant = "t1") =>
  env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${account}`));

async function setup() {
  const account = uid("acc");
  await push(
    account,
    { comments: [comment("c1", "w1")], conversations: [conversation("cv1")], messages: [dm("m1", "cv1")] },
    {
      account: { name: "Brand A", platform_user_id: "self-1" },
    },
  );
  return account;
}

async function pending(account: string) {
  const res = await api(`/api/v1/accounts/${account}/commands?status=pending`, { token: await token("crawler") });
  expect(res.status).toBe(200);
  return res.json.commands as any[];
}

async function report(account: string, id: string, body: unknown) {
  return api(`/api/v1/accounts/${account}/commands/${id}/result`, {
    method: "POST",
    token: await token("crawler"),
    body,
  });
}

async function crawlerSocket(account: string): Promise<TestSocket> {
  return (await connect(`/api/v1/accounts/${account}/ws?token=${await token("crawler")}`)).socket!;
}

describe("monitor:reply", () => {
  it("stores a pending reply, answers accepted, and sends channel:message to everyone", async () => {
    const account = await setup();
    const me = await roomSocket(account);
    const colleague = await roomSocket(account);
    const accepted = await me.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", replyToId: "c1", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    expect(accepted.payload.message).toMatchObject({
      kind: "reply",
      direction: "out",
      status: "pending",
      topicId: "w1",
      content: "Thanks!",
      replyToId: "c1",
      fromId: "self-1",
      fromName: "Brand A",
      toId: "u-c1",
      clientMsgId: "k1",
    });
    const seen = await colleague.next("channel:message");
    expect(seen.payload.message).toEqual(accepted.payload.message);
    const history = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    const messages = history.json.messages as { kind: string; clientMsgId?: string }[];
    expect(messages.find((m) => m.kind === "reply")?.clientMsgId).toBe("k1");
    const commands = await pending(account);
    expect(commands).toEqual([
      {
        id: expect.any(String),
        type: "reply",
        topicId: "w1",
        topicKind: "work",
        replyToId: "c1",
        content: "Thanks!",
        createdAt: expect.any(Number),
        attempts: 0,
        status: "pending",
      },
    ]);
    me.close();
    colleague.close();
  });

  it("the same clientMsgId twice gives the same message and one command", async () => {
    const account = await setup();
    const me = await roomSocket(account);
    const first = await me.request(
      "monitor:reply",
      { topicId: "cv1", content: "Hello", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    const second = await me.request(
      "monitor:reply",
      { topicId: "cv1", content: "Hello", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    expect(second.payload.message).toEqual(first.payload.message);
    expect(me.events("channel:message")).toHaveLength(1);
    expect(await pending(account)).toHaveLength(1);
    const clash = await me.request(
      "monitor:reply",
      { topicId: "cv1", content: "Other text", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    expect(clash.payload).toMatchObject({ code: "conflict", issues: [{ path: "clientMsgId" }] });
    me.close();
  });

  it.each([
    ["empty", "   ", /payload\.content: must not be empty/],
    ["over 2,000 characters", "x".repeat(2001), /payload\.content: must be at most 2000 characters/],
  ])("%s content is an error frame naming the field, and nothing is stored", async (_name, content, message) => {
    const account = await setup();
    const me = await roomSocket(account);
    const error = await me.request(
      "monitor:reply",
      { topicId: "w1", content, clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    expect(error.type).toBe("error");
    expect(error.payload.message).toMatch(message);
    expect(await pending(account)).toEqual([]);
    me.close();
  });

  it("a reply to an unknown topic or message is not_found", async () => {
    const account = await setup();
    const me = await roomSocket(account);
    expect(
      (await me.request("monitor:reply", { topicId: "nope", content: "hi", clientMsgId: "k1" }, "x")).payload.code,
    ).toBe("not_found");
    const wrongParent = await me.request(
      "monitor:reply",
      { topicId: "w1", content: "hi", replyToId: "m1", clientMsgId: "k2" },
      "x",
    );
    expect(wrongParent.payload).toMatchObject({ code: "not_found", issues: [{ path: "replyToId" }] });
    me.close();
  });
});

describe("POST /api/v1/accounts/:id/topics/:topicId/replies", () => {
  it("is the HTTP twin: 201 the first time, 200 with the same message after", async () => {
    const account = await setup();
    const agent = await token("agent");
    const body = { content: "Hi there", clientMsgId: "http-1" };
    const first = await api(`/api/v1/accounts/${account}/topics/cv1/replies`, { method: "POST", token: agent, body });
    expect(first.status).toBe(201);
    expect(first.json.message).toMatchObject({ kind: "reply", status: "pending", toId: "p-cv1" });
    const again = await api(`/api/v1/accounts/${account}/topics/cv1/replies`, { method: "POST", token: agent, body });
    expect(again.status).toBe(200);
    expect(again.json.message).toEqual(first.json.message);
    expect(await pending(account)).toHaveLength(1);
    const bad = await api(`/api/v1/accounts/${account}/topics/cv1/replies`, {
      method: "POST",
      token: agent,
      body: { content: "", clientMsgId: "x" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: "invalid_body", issues: [{ path: "content" }] });
  });
});

describe("a clientMsgId is the agent's own", () => {
  it("two agents' same clientMsgId are two replies; each retry answers its own", async () => {
    const account = await setup();
    const replyAs = async (sub: string, content: string) =>
      api(`/api/v1/accounts/${account}/topics/cv1/replies`, {
        method: "POST",
        token: await token("agent", { sub }),
        body: { content, clientMsgId: "shared-1" },
      });
    const mine = await replyAs("agent-a", "from a");
    const theirs = await replyAs("agent-b", "from b");
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.json.message.id).not.toBe(mine.json.message.id);
    const retry = await replyAs("agent-a", "from a");
    expect(retry.status).toBe(200);
    expect(retry.json.message).toEqual(mine.json.message);
    expect((await pending(account)).map((c) => c.content).sort()).toEqual(["from a", "from b"]);
  });

  it("a reply stored before replies kept their agent still answers its retry", async () => {
    const account = await setup();
    const body = { content: "old reply", clientMsgId: "legacy-1" };
    const first = await api(`/api/v1/accounts/${account}/topics/cv1/replies`, {
      method: "POST",
      token: await token("agent"),
      body,
    });
    expect(first.status).toBe(201);
    await runInDurableObject(stubOf(account), (_room, state) => {
      state.storage.sql.exec("UPDATE commands SET agent = NULL WHERE client_msg_id = 'legacy-1'");
    });
    const retry = await api(`/api/v1/accounts/${account}/topics/cv1/replies`, {
      method: "POST",
      token: await token("agent"),
      body,
    });
    expect(retry.status).toBe(200);
    expect(retry.json.message).toEqual(first.json.message);
  });
});

describe("the crawler carries out commands", () => {
  it("gets command:new live on its socket, and every pending command when it connects", async () => {
    const account = await setup();
    const agent = await roomSocket(account);
    await agent.request(
      "monitor:reply",
      { topicId: "w1", content: "before", clientMsgId: "k0" },
      "monitor:reply:accepted",
    );
    const crawler = await crawlerSocket(account);
    expect((await crawler.next("command:new")).payload.command.content).toBe("before");
    agent.send({ type: "monitor:reply", payload: { topicId: "w1", content: "live", clientMsgId: "k1" } });
    await crawler.until((f) => f.filter((x) => x.type === "command:new").length === 2, "second command");
    expect(crawler.frames.filter((f) => f.type === "command:new").map((f) => f.payload.command.content)).toEqual([
      "before",
      "live",
    ]);
    // The crawler's socket carries commands, not the account's messages.
    expect(crawler.events()).toEqual([]);
    const refused = await crawler.request("monitor:request_topics", {}, "monitor:topics");
    expect(refused.payload.code).toBe("forbidden");
    agent.close();
    crawler.close();
  });

  it("sent: records the platform id and flips the message to sent for everyone, once", async () => {
    const account = await setup();
    const agent = await roomSocket(account);
    const accepted = await agent.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    const [command] = await pending(account);
    const res = await report(account, command.id, { status: "sent", platformMessageId: "plat-77" });
    expect(res.json.command).toMatchObject({ id: command.id, status: "sent" });
    const status = await agent.next("message:status");
    expect(status.payload).toEqual({ seq: expect.any(Number), messageId: accepted.payload.message.id, status: "sent" });
    expect((await report(account, command.id, { status: "sent", platformMessageId: "plat-77" })).status).toBe(200);
    await agent.settle();
    expect(agent.events("message:status")).toHaveLength(1);
    const page = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.at(-1)).toMatchObject({ id: accepted.payload.message.id, status: "sent" });
    expect(await pending(account)).toEqual([]);
    agent.close();
  });

  it("the crawler's copy of a sent reply in a later snapshot is the same message, not a new one", async () => {
    const account = await setup();
    const agent = await roomSocket(account);
    const accepted = await agent.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    const [command] = await pending(account);
    await report(account, command.id, { status: "sent", platformMessageId: "plat-77" });
    const res = await push(account, {
      comments: [comment("plat-77", "w1", { content: "Thanks!", author_id: "self-1", author_name: "Brand A" })],
    });
    expect(res.json.counts.comments.new).toBe(0);
    const page = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.map((m: any) => m.id)).toEqual(["c1", accepted.payload.message.id]);
    expect(page.json.messages[1]).toMatchObject({ kind: "reply", status: "sent" });
    expect(agent.events("channel:message")).toHaveLength(1);
    agent.close();
  });

  it("failed: counts attempts, stays retryable up to the limit, then fails for good", async () => {
    const account = await setup();
    const agent = await roomSocket(account);
    await agent.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    let [command] = await pending(account);
    const first = await report(account, command.id, { status: "failed", error: "captcha" });
    expect(first.json.command).toMatchObject({ status: "pending", attempts: 1 });
    // The same report again (a retried request) is not a second attempt.
    expect((await report(account, command.id, { status: "failed", error: "captcha" })).json.command.attempts).toBe(1);
    expect((await agent.next("message:status")).payload).toMatchObject({ status: "pending", error: "captcha" });
    [command] = await pending(account);
    expect(command.attempts).toBe(1);
    await report(account, command.id, { status: "failed", error: "captcha" });
    await pending(account);
    const last = await report(account, command.id, { status: "failed", error: "blocked" });
    expect(last.json.command).toMatchObject({ status: "failed", attempts: 3 });
    await agent.until(
      (f) => f.some((x) => x.type === "message:status" && x.payload.status === "failed"),
      "failed status",
    );
    expect(await pending(account)).toEqual([]);
    expect((await report(account, command.id, { status: "sent" })).status).toBe(409);
    expect((await report(account, "no-such-command", { status: "sent" })).status).toBe(404);
    const bad = await report(account, command.id, { status: "done" });
    expect(bad.json.error).toMatchObject({ code: "invalid_body", issues: [{ path: "status" }] });
    agent.close();
  });

  it("a command nobody took in time is shown as stale, by an alarm", async () => {
    const account = await setup();
    const stub = stubOf(account);
    // Only the command's deadline here: the crawler's health transitions are test/health.test.ts's.
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("UPDATE account SET last_seen_at = NULL");
    });
    const agent = await roomSocket(account);
    const accepted = await agent.request(
      "monitor:reply",
      { topicId: "w1", content: "Thanks!", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    const alarm = await runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 9 * 60_000);
    // Ten minutes pass with no crawler.
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("UPDATE commands SET pending_since = pending_since - 601000");
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const stale = await agent.next("message:status");
    expect(stale.payload).toMatchObject({ messageId: accepted.payload.message.id, status: "pending", stale: true });
    // Once a crawler takes it, it is no longer stale.
    await pending(account);
    await agent.until((f) => f.filter((x) => x.type === "message:status").length === 2, "not stale");
    expect(agent.events("message:status")[1]!.payload).toMatchObject({ status: "pending", stale: false });
    // Nothing is pending any more: the one alarm left closes the agent's socket when its token
    // (an hour) expires.
    const left = await runInDurableObject(stub, (_room, state) => state.storage.getAlarm());
    expect(left).toBeGreaterThan(Date.now() + 59 * 60_000);
    expect(left).toBeLessThanOrEqual(Date.now() + 61 * 60_000);
    agent.close();
  });
});

describe("QR login", () => {
  it("relays the login to the crawler and the QR code and status only to admins", async () => {
    const account = await setup();
    const admin = await roomSocket(account, { role: "admin" });
    const agent = await roomSocket(account);
    const crawler = await crawlerSocket(account);
    const refused = await agent.request("account:login:start", {}, "x");
    expect(refused.payload.code).toBe("forbidden");
    admin.send({ type: "account:login:start", payload: {} });
    const command = await crawler.next("command:new");
    expect(command.payload.command).toMatchObject({ type: "login", status: "pending" });
    const crawlerToken = await token("crawler");
    const image = "data:image/png;base64,iVBORw0KGgo=";
    const expiresAt = Date.now() + 120_000;
    const qr = await api(`/api/v1/accounts/${account}/qrcode`, {
      method: "POST",
      token: crawlerToken,
      body: { image, expiresAt },
    });
    expect(qr.status).toBe(200);
    expect((await admin.next("account:qrcode")).payload).toEqual({ seq: qr.json.seq, image, expiresAt });
    await api(`/api/v1/accounts/${account}/login/status`, {
      method: "POST",
      token: crawlerToken,
      body: { status: "success" },
    });
    await admin.until(
      (f) => f.some((x) => x.type === "account:login:status" && x.payload.status === "success"),
      "success",
    );
    await agent.settle();
    expect(agent.frames.some((f) => f.type.startsWith("account:"))).toBe(false);
    // Nor does an agent's replay include them.
    const late = await roomSocket(account);
    await late.request("sync:start", { since: 0 }, "sync:complete");
    expect(late.frames.some((f) => f.type.startsWith("account:"))).toBe(false);
    // The image is not kept once the login ended.
    const stored = await runInDurableObject(stubOf(account), (_room, state) =>
      state.storage.sql
        .exec<{ frame: string }>("SELECT frame FROM events")
        .toArray()
        .map((r) => r.frame)
        .join(""),
    );
    expect(stored).not.toContain("iVBORw0KGgo");
    for (const s of [admin, agent, crawler, late]) s.close();
  });

  it("an expired QR code is dropped from storage by the alarm", async () => {
    const account = await setup();
    const admin = await token("admin");
    expect((await api(`/api/v1/accounts/${account}/login`, { method: "POST", token: admin })).status).toBe(202);
    const image = "data:image/png;base64,SECRETQR";
    await api(`/api/v1/accounts/${account}/qrcode`, {
      method: "POST",
      token: await token("crawler"),
      body: { image, expiresAt: Date.now() + 60_000 },
    });
    const stub = stubOf(account);
    await runInDurableObject(stub, (_room, state) => {
      state.storage.sql.exec("UPDATE login SET expires_at = ?", Date.now() - 1);
    });
    await runDurableObjectAlarm(stub);
    const stored = await runInDurableObject(stub, (_room, state) =>
      JSON.stringify([
        state.storage.sql.exec("SELECT * FROM login").toArray(),
        state.storage.sql.exec("SELECT frame FROM events").toArray(),
      ]),
    );
    expect(stored).not.toContain("SECRETQR");
  });

  it("a reply with a lone surrogate is refused naming the field, stores nothing, and a retry with valid text is taken", async () => {
    const account = await setup();
    const agent = await token("agent");
    const send = (content: string) =>
      api(`/api/v1/accounts/${account}/topics/w1/replies`, {
        method: "POST",
        token: agent,
        body: JSON.stringify({ content, clientMsgId: "lone-1" }).replace("@", "\\ud800"),
      });
    const refused = await send("half @ a pair");
    expect(refused.status).toBe(400);
    expect(refused.json.error.issues).toEqual([
      { path: "content", message: expect.stringContaining("lone surrogate") },
    ]);
    expect(await pending(account)).toEqual([]);
    const taken = await send("a whole reply");
    expect(taken.status).toBe(201);
    expect(taken.json.message.content).toBe("a whole reply");
    expect((await send("a whole reply")).status).toBe(200);
  });

  it("a QR code over plain http is refused naming the image, and nothing is sent to admins", async () => {
    const account = await setup();
    const admin = await roomSocket(account, { role: "admin" });
    await api(`/api/v1/accounts/${account}/login`, { method: "POST", token: await token("admin") });
    const res = await api(`/api/v1/accounts/${account}/qrcode`, {
      method: "POST",
      token: await token("crawler"),
      body: { image: "http://cdn.example.com/qr.png", expiresAt: Date.now() + 60_000 },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.issues).toEqual([{ path: "image", message: expect.stringContaining("https:") }]);
    const ok = await api(`/api/v1/accounts/${account}/qrcode`, {
      method: "POST",
      token: await token("crawler"),
      body: { image: "https://cdn.example.com/qr.png", expiresAt: Date.now() + 60_000 },
    });
    expect(ok.status).toBe(200);
    const qr = await admin.until((f) => f.some((x) => x.type === "account:qrcode"), "the https QR code");
    expect(qr.filter((x) => x.type === "account:qrcode").map((x) => x.payload.image)).toEqual([
      "https://cdn.example.com/qr.png",
    ]);
    admin.close();
  });

  it("a QR code with no login under way is a conflict", async () => {
    const account = await setup();
    const res = await api(`/api/v1/accounts/${account}/qrcode`, {
      method: "POST",
      token: await token("crawler"),
      body: { image: "data:image/png;base64,AA==", expiresAt: Date.now() + 60_000 },
    });
    expect(res.status).toBe(409);
  });
});

describe("roles", () => {
  it("a crawler token cannot read messages and an agent token cannot take commands", async () => {
    const account = await setup();
    const crawlerRead = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("crawler") });
    expect(crawlerRead.status).toBe(403);
    const agentTake = await api(`/api/v1/accounts/${account}/commands`, { token: await token("agent") });
    expect(agentTake.status).toBe(403);
    const agentReport = await api(`/api/v1/accounts/${account}/commands/x/result`, {
      method: "POST",
      token: await token("agent"),
      body: { status: "sent" },
    });
    expect(agentReport.status).toBe(403);
    const agentLogin = await api(`/api/v1/accounts/${account}/login`, { method: "POST", token: await token("agent") });
    expect(agentLogin.status).toBe(403);
  });
});
