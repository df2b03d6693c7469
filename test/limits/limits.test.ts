import { describe, expect, it } from "vitest";
import { api, comment, connect, push, roomSocket, token, uid } from "../helpers";

// This project runs with PUSHES_PER_MINUTE=6, FRAMES_PER_SECOND=5, CONNECTS_PER_MINUTE=4,
// MAX_SOCKETS_PER_OBJECT=6, MAX_SOCKETS_PER_TOKEN=3, MAX_PUSH_BYTES=64 KiB, MAX_FRAME_BYTES=4 KiB,
// MAX_ACCOUNTS_PER_TENANT=20.

describe("accounts per tenant", () => {
  it("refuses the first push and health report of one account more with 403 naming the limit, creating nothing", async () => {
    const tenant = uid("tn");
    const crawler = await token("crawler", { tenant });
    const health = (account: string) =>
      api(`/api/v1/accounts/${account}/health`, { method: "POST", token: crawler, body: { intervalMs: 60_000 } });
    const accounts = Array.from({ length: 20 }, (_, i) => `full-${i}`);
    // Half created by a push, half by a health report; all at once, as a crawler fleet starts.
    const created = await Promise.all(
      accounts.map((account, i) =>
        i % 2 ? health(account) : push(account, { comments: [comment("c1", "w1")] }, { tenant }),
      ),
    );
    expect(created.map((res) => res.status)).toEqual(accounts.map(() => 200));

    const refusedPush = await push("one-more", { comments: [comment("c1", "w1")] }, { tenant });
    expect(refusedPush.status).toBe(403);
    expect(refusedPush.json.error).toMatchObject({ code: "forbidden" });
    expect(refusedPush.json.error.message).toContain("MAX_ACCOUNTS_PER_TENANT (20)");
    const refusedHealth = await health("one-more");
    expect(refusedHealth.status).toBe(403);
    expect(refusedHealth.json.error.message).toContain("MAX_ACCOUNTS_PER_TENANT (20)");

    // Nothing of it exists; the tenant's accounts still take pushes; another tenant is not counted.
    const list = await api("/api/v1/accounts", { token: await token("admin", { tenant }) });
    expect(list.json.channels.map((c: { id: string }) => c.id).sort()).toEqual([...accounts].sort());
    const topics = await api("/api/v1/accounts/one-more/topics", { token: await token("agent", { tenant }) });
    expect(topics.json.topics ?? []).toEqual([]);
    expect((await push("full-0", { comments: [comment("c2", "w1")] }, { tenant })).status).toBe(200);
    expect((await push("one-more", { comments: [comment("c1", "w1")] }, { tenant: uid("tn") })).status).toBe(200);
  });
});

describe("push rate per token", () => {
  it("answers 429 rate_limited past the limit, with Retry-After, and stores nothing of that push", async () => {
    const account = uid("acc");
    for (let i = 0; i < 6; i++) expect((await push(account, { comments: [comment(`c${i}`, "w1")] })).status).toBe(200);
    const limited = await push(account, { comments: [comment("c9", "w1")] });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe("rate_limited");
    // 6 a minute refill one every 10 s: the answer says when the next one is allowed.
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(limited.json.error.message).toContain(`retry in ${retryAfter} s`);
    const page = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: await token("agent") });
    expect(page.json.messages.map((m: any) => m.id)).toEqual(["c0", "c1", "c2", "c3", "c4", "c5"]);
  });

  it("recovers as the bucket refills", async () => {
    const account = uid("acc");
    for (let i = 0; i < 6; i++) await push(account, { comments: [comment(`c${i}`, "w1")] });
    expect((await push(account, { comments: [comment("c6", "w1")] })).status).toBe(429);
    await new Promise((r) => setTimeout(r, 10_500)); // 6 a minute: one more every 10 s
    expect((await push(account, { comments: [comment("c6", "w1")] })).status).toBe(200);
  }, 20_000);

  it("is per token: another crawler is not slowed by the first", async () => {
    const account = uid("acc");
    for (let i = 0; i < 7; i++) await push(account, { comments: [comment(`c${i}`, "w1")] });
    const other = await api(`/api/v1/accounts/${account}/sync`, {
      method: "POST",
      token: await token("crawler", { sub: "crawler-2" }),
      body: { accountId: account, snapshot: { comments: [comment("x1", "w1")] } },
    });
    expect(other.status).toBe(200);
  });
});

describe("body and frame size", () => {
  it("a body over MAX_PUSH_BYTES is 413", async () => {
    const account = uid("acc");
    const res = await push(account, { comments: [comment("c1", "w1", { content: "x".repeat(70_000) })] });
    expect(res.status).toBe(413);
    expect(res.json.error.message).toMatch(/larger than/);
  });

  it("a frame over MAX_FRAME_BYTES closes the socket with 1009", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] });
    const socket = await roomSocket(account);
    socket.send({ type: "monitor:request_topics", payload: { pad: "x".repeat(5_000) } });
    await socket.until(() => socket.closed !== null, "close");
    expect(socket.closed!.code).toBe(1009);
  });
});

describe("frames per second", () => {
  it("frames past the rate get rate_limited error frames, the socket stays open and recovers", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] });
    const socket = await roomSocket(account);
    for (let i = 0; i < 8; i++) socket.send({ type: "monitor:request_topics", id: `r${i}` });
    await socket.until((f) => f.length >= 8, "8 answers");
    const answers = socket.frames.map((f) => f.type);
    expect(answers.filter((t) => t === "monitor:topics").length).toBe(5);
    const dropped = socket.frames.filter((f) => f.type === "error");
    expect(dropped.map((f) => f.payload.code)).toEqual(["rate_limited", "rate_limited", "rate_limited"]);
    // Each refusal names the request it dropped.
    expect(dropped.map((f) => f.id)).toEqual(["r5", "r6", "r7"]);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await socket.request("monitor:request_topics", {}, "monitor:topics")).type).toBe("monitor:topics");
    // The heartbeat is answered by the runtime and never counts.
    for (let i = 0; i < 10; i++) socket.send('{"type":"ping"}');
    await socket.until((f) => f.filter((x) => x.type === "pong").length === 10, "10 pongs");
    socket.close();
  });
});

describe("sockets", () => {
  it("connection attempts per token are limited with 429, never a 101", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] });
    const agent = await token("agent", { sub: uid("agent") });
    const statuses: number[] = [];
    let retryAfter: string | null | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await connect(`/api/v1/accounts/${account}/ws?token=${agent}`);
      statuses.push(res.status);
      retryAfter = res.retryAfter;
      res.socket?.close();
    }
    expect(statuses).toEqual([101, 101, 101, 101, 429]);
    // 4 a minute refill one every 15 s.
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(15);
  });

  it("caps the sockets one token holds and the sockets one account holds", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] });
    const one = await token("agent", { sub: uid("one") });
    const opened = [];
    for (let i = 0; i < 3; i++) opened.push((await connect(`/api/v1/accounts/${account}/ws?token=${one}`)).socket!);
    const fourth = await connect(`/api/v1/accounts/${account}/ws?token=${one}`);
    expect(fourth.status).toBe(429);
    expect(fourth.json.error.message).toMatch(/this token already holds 3 sockets/);
    expect(fourth.retryAfter).toBe("5");
    for (let i = 0; i < 3; i++) {
      const other = await token("agent", { sub: uid("other") });
      const res = await connect(`/api/v1/accounts/${account}/ws?token=${other}`);
      if (i < 3 && res.socket) opened.push(res.socket);
    }
    expect(opened).toHaveLength(6);
    const seventh = await connect(`/api/v1/accounts/${account}/ws?token=${await token("agent", { sub: uid("late") })}`);
    expect(seventh.status).toBe(429);
    expect(seventh.json.error.message).toMatch(/holds 6 sockets/);
    // Closing one makes room again.
    opened.pop()!.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = await connect(`/api/v1/accounts/${account}/ws?token=${await token("agent", { sub: uid("again") })}`);
    expect(again.status).toBe(101);
    for (const s of opened) s.close();
    again.socket!.close();
  });
});

describe("the Directory socket", () => {
  it("has the same caps and frame rate as an account room", async () => {
    const tenant = uid("tn");
    const one = await token("agent", { tenant, sub: uid("one") });
    const opened = [];
    for (let i = 0; i < 3; i++) opened.push((await connect(`/api/v1/ws?token=${one}`)).socket!);
    const fourth = await connect(`/api/v1/ws?token=${one}`);
    expect(fourth.status).toBe(429);
    expect(fourth.json.error.code).toBe("rate_limited");
    const socket = opened[0]!;
    for (let i = 0; i < 7; i++) socket.send({ type: "monitor:request_channels", id: `r${i}` });
    await socket.until((f) => f.length >= 7, "7 answers");
    expect(socket.frames.filter((f) => f.type === "monitor:channels")).toHaveLength(5);
    expect(socket.frames.filter((f) => f.type === "error").map((f) => [f.id, f.payload.code])).toEqual([
      ["r5", "rate_limited"],
      ["r6", "rate_limited"],
    ]);
    for (const s of opened) s.close();
  });
});
