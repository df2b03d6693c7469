import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EXPIRY_GRANULARITY_MS } from "../src/objects/sockets/expiry";
import { api, comment, connect, newAccount, push, roomSocket, token, uid } from "./helpers";
import type { TestSocket } from "./helpers";

const TTL_S = 2;
const EXPIRED = { code: 4001, reason: "token has expired; reconnect with a fresh token" };

const roomOf = (account: string) => env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${account}`));
const directoryOf = (tenant: string) => env.DIRECTORY.get(env.DIRECTORY.idFromName(tenant));

/** A socket on `path` whose token expires TTL_S seconds from now; resolves with that expiry (ms). */
async function shortLived(path: (token: string) => string, role: "agent" | "crawler" = "agent", tenant = "t1") {
  const exp = (Math.floor(Date.now() / 1000) + TTL_S) * 1000;
  const result = await connect(path(await token(role, { sub: `${role}-short`, ttl: TTL_S, tenant })));
  if (!result.socket) throw new Error(`socket refused with ${result.status}: ${JSON.stringify(result.json)}`);
  return { socket: result.socket, exp };
}

/** Waits until `exp` (ms) has passed by the Worker's clock, which is the test's. */
async function pastExpiry(exp: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 100));
}

async function closedExpired(socket: TestSocket) {
  await socket.until(() => socket.closed !== null, "the close");
  expect(socket.closed).toEqual(EXPIRED);
}

describe("no frame reaches a socket whose token expired", () => {
  it("an agent that only listens is closed with 4001 by the next push, which it never receives", async () => {
    const account = await newAccount();
    const { socket, exp } = await shortLived((t) => `/api/v1/accounts/${account}/ws?token=${t}`);
    const fresh = await roomSocket(account);
    await pastExpiry(exp);
    await push(account, { comments: [comment("c2", "w1")] });
    await fresh.until(() => fresh.events("channel:message").length === 1, "the new comment on a fresh socket");
    await closedExpired(socket);
    expect(socket.events()).toEqual([]);
  });

  it("an expired crawler socket gets no command:new; a reply closes it with 4001", async () => {
    const account = await newAccount();
    const { socket: crawler, exp } = await shortLived((t) => `/api/v1/accounts/${account}/ws?token=${t}`, "crawler");
    await pastExpiry(exp);
    const reply = await api(`/api/v1/accounts/${account}/topics/w1/replies`, {
      method: "POST",
      token: await token("agent"),
      body: { content: "after expiry", clientMsgId: uid("m") },
    });
    expect(reply.status).toBe(201);
    await closedExpired(crawler);
    expect(crawler.frames.filter((f) => f.type === "command:new")).toEqual([]);
    // The command waits for a crawler with a valid token, as when none is connected.
    const pending = await api(`/api/v1/accounts/${account}/commands?status=pending`, { token: await token("crawler") });
    expect(pending.json.commands.map((c: { content: string }) => c.content)).toEqual(["after expiry"]);
  });

  it("a Directory socket that only listens is closed with 4001 by the next channel update", async () => {
    const tenant = uid("tenant");
    const { socket, exp } = await shortLived((t) => `/api/v1/ws?token=${t}`, "agent", tenant);
    const fresh = (await connect(`/api/v1/ws?token=${await token("agent", { tenant })}`)).socket!;
    await pastExpiry(exp);
    await push(uid("acc"), { comments: [comment("c1", "w1")] }, { tenant });
    await fresh.until((f) => f.some((x) => x.type === "channel:updated"), "channel:updated on a fresh socket");
    await closedExpired(socket);
    expect(socket.frames).toEqual([]);
  });
});

describe("an expired socket with nothing to fan out is closed by an alarm within a minute", () => {
  it("on an account room, even when it only pings", async () => {
    const account = await newAccount();
    // Without the crawler's health deadline, the socket's expiry is the room's only one.
    await runInDurableObject(roomOf(account), (_room, state) => state.storage.deleteAlarm());
    const { socket, exp } = await shortLived((t) => `/api/v1/accounts/${account}/ws?token=${t}`);
    const alarm = await runInDurableObject(roomOf(account), (_room, state) => state.storage.getAlarm());
    expect(alarm).toBe(Math.ceil((exp + 1) / EXPIRY_GRANULARITY_MS) * EXPIRY_GRANULARITY_MS);
    await pastExpiry(exp);
    // The runtime answers pings itself, without waking the room: they keep nothing open.
    socket.send('{"type":"ping"}');
    await socket.next("pong");
    expect(await runDurableObjectAlarm(roomOf(account))).toBe(true);
    await closedExpired(socket);
  });

  it("on the Directory, whose only alarm it is: set for the minute after the expiry, then none", async () => {
    const tenant = uid("tenant");
    const { socket, exp } = await shortLived((t) => `/api/v1/ws?token=${t}`, "agent", tenant);
    const alarm = await runInDurableObject(directoryOf(tenant), (_d, state) => state.storage.getAlarm());
    expect(alarm).toBe(Math.ceil((exp + 1) / EXPIRY_GRANULARITY_MS) * EXPIRY_GRANULARITY_MS);
    await pastExpiry(exp);
    expect(await runDurableObjectAlarm(directoryOf(tenant))).toBe(true);
    await closedExpired(socket);
    expect(await runInDurableObject(directoryOf(tenant), (_d, state) => state.storage.getAlarm())).toBeNull();
  });

  it("a socket with a longer token keeps the next alarm and stays open", async () => {
    const tenant = uid("tenant");
    const { socket: short, exp } = await shortLived((t) => `/api/v1/ws?token=${t}`, "agent", tenant);
    const long = (await connect(`/api/v1/ws?token=${await token("agent", { tenant, ttl: 7200 })}`)).socket!;
    await pastExpiry(exp);
    expect(await runDurableObjectAlarm(directoryOf(tenant))).toBe(true);
    await closedExpired(short);
    const alarm = await runInDurableObject(directoryOf(tenant), (_d, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 7000 * 1000);
    const answer = await long.request("monitor:request_channels", {}, "monitor:channels");
    expect(answer.type).toBe("monitor:channels");
    expect(long.closed).toBeNull();
  });
});
