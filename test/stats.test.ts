/** Statistics (PROTOCOL §11): `GET /api/v1/stats` and `GET /api/v1/accounts/:accountId/stats`. */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { statsOf } from "../src/objects/directory-stats";
import { api, comment, conversation, dm, push, roomSocket, token, uid, work } from "./helpers";

async function stats(path: string, role: "agent" | "admin" | "crawler" = "agent", options = {}) {
  return api(path, { token: await token(role, options) });
}

const roomOf = (tenant: string, accountId: string) =>
  env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${accountId}`));

describe("GET /api/v1/stats", () => {
  it("adds up the tenant's accounts, kept up to date as data changes", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    const b = uid("acc");
    await push(
      a,
      {
        contents: [work("w1")],
        comments: [comment("c1", "w1"), comment("c2", "w1")],
        notifications: [{ notification_id: "n1", type: "like" }],
      },
      { tenant },
    );
    await push(b, { conversations: [conversation("cv1")], messages: [dm("m1", "cv1")] }, { tenant });
    await push(uid("acc"), { comments: [comment("other", "w1")] }, { tenant: uid("t") });

    const before = await stats("/api/v1/stats", "agent", { tenant });
    expect(before.status).toBe(200);
    expect(before.json).toEqual({
      accounts: 2,
      topics: 2,
      messages: 3,
      unread: 3,
      notifications: 1,
      clientsOnline: 0,
      pushes: { lastHour: 2, lastDay: 2 },
      accountsByHealth: { online: 2, late: 0, offline: 0, never: 0 },
    });

    // A read mark and a reply change the figures with no new push.
    const socket = await roomSocket(a, { tenant });
    await socket.request(
      "monitor:reply",
      { topicId: "w1", content: "thanks", clientMsgId: "k1" },
      "monitor:reply:accepted",
    );
    socket.send({ type: "monitor:mark_read", payload: { topicId: "w1" } });
    await socket.next("topic:updated");
    // The room tells the Directory right after it answered the socket.
    await expect.poll(async () => (await stats("/api/v1/stats", "admin", { tenant })).json.unread).toBe(1);
    const after = await stats("/api/v1/stats", "admin", { tenant });
    expect(after.json).toMatchObject({ messages: 4, unread: 1, pushes: { lastHour: 2 } });
    socket.close();
  });

  it("counts the clients registered in the tenant's rooms once each, after the room reports them", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    const b = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    await push(b, { comments: [comment("c1", "w1")] }, { tenant });
    const sockets = [await roomSocket(a, { tenant }), await roomSocket(b, { tenant }), await roomSocket(b, { tenant })];
    const clientIds = ["desk-1", "desk-1", "desk-2"];
    for (const [i, socket] of sockets.entries()) {
      await socket.request("monitor:register", { clientId: clientIds[i], clientType: "monitor" }, "monitor:registered");
    }
    // Reported with the next summary, which a change of who is online asks the alarm for.
    expect((await stats("/api/v1/stats", "agent", { tenant })).json.clientsOnline).toBe(0);
    for (const account of [a, b]) {
      const alarm = await runInDurableObject(roomOf(tenant, account), (_room, state) => state.storage.getAlarm());
      expect(alarm).toBeLessThanOrEqual(Date.now() + 2_000);
    }
    await runDurableObjectAlarm(roomOf(tenant, a));
    await runDurableObjectAlarm(roomOf(tenant, b));
    expect((await stats("/api/v1/stats", "agent", { tenant })).json.clientsOnline).toBe(2);

    sockets[2]!.close();
    await sockets[0]!.settle(200);
    const alarm = await runInDurableObject(roomOf(tenant, b), (_room, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(Date.now() + 2_000);
    await runDurableObjectAlarm(roomOf(tenant, b));
    expect((await stats("/api/v1/stats", "agent", { tenant })).json.clientsOnline).toBe(1);
    expect((await stats(`/api/v1/accounts/${b}/stats`, "agent", { tenant })).json.clientsOnline).toBe(1);
    for (const socket of sockets) socket.close();
  });

  it("counts only the existing accounts in a token's accounts claim", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    await push(uid("acc"), { comments: [comment("c1", "w1")] }, { tenant });
    const res = await stats("/api/v1/stats", "agent", { tenant, accounts: [a, "never-pushed"] });
    expect(res.json).toMatchObject({ accounts: 1, messages: 1, pushes: { lastHour: 1, lastDay: 1 } });
  });

  it("refuses a crawler token", async () => {
    const res = await stats("/api/v1/stats", "crawler");
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("forbidden");
  });
});

describe("GET /api/v1/accounts/:accountId/stats", () => {
  it("gives one account's figures with accounts: 1", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { contents: [work("w1")], comments: [comment("c1", "w1")] }, { tenant });
    await push(a, { comments: [comment("c2", "w1")] }, { tenant });
    await push(uid("acc"), { comments: [comment("c1", "w1")] }, { tenant });
    const res = await stats(`/api/v1/accounts/${a}/stats`, "agent", { tenant });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      storageBytes: expect.any(Number),
      accounts: 1,
      topics: 1,
      messages: 2,
      unread: 2,
      notifications: 0,
      clientsOnline: 0,
      pushes: { lastHour: 2, lastDay: 2 },
      accountsByHealth: { online: 1, late: 0, offline: 0, never: 0 },
    });
  });

  it("gives the account's database size, which grows with what is stored and is not in the tenant's figures", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    const small = (await stats(`/api/v1/accounts/${a}/stats`, "agent", { tenant })).json.storageBytes as number;
    expect(small).toBeGreaterThan(0);
    const text = "很长的评论".repeat(200);
    const many = Array.from({ length: 300 }, (_, i) => comment(`big-${i}`, "w1", { content: `${text} ${i}` }));
    await push(a, { comments: many }, { tenant });
    const large = (await stats(`/api/v1/accounts/${a}/stats`, "agent", { tenant })).json.storageBytes as number;
    // 300 comments of 3 KB each: at least their text is stored.
    expect(large - small).toBeGreaterThan(300 * 3_000);
    expect((await stats("/api/v1/stats", "agent", { tenant })).json).not.toHaveProperty("storageBytes");
  });

  it("refuses an account of another tenant, outside the claim, and a crawler", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    expect((await stats(`/api/v1/accounts/${a}/stats`, "agent", { tenant: uid("t") })).status).toBe(403);
    expect((await stats(`/api/v1/accounts/${a}/stats`, "agent", { tenant, accounts: ["other"] })).status).toBe(403);
    expect((await stats(`/api/v1/accounts/${a}/stats`, "crawler", { tenant })).status).toBe(403);
    expect((await stats(`/api/v1/accounts/${a}/stats`, "admin", { tenant })).status).toBe(200);
  });
});

describe("statsOf", () => {
  it("counts pushes in sliding windows of whole minutes and derives each account's health now", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const minute = Math.floor(now / 60_000);
    const row = (lastSeenAt: number | null, pushMinutes: [number, number][], clients: string[] = []) => ({
      unread_count: 1,
      message_count: 2,
      topic_count: 1,
      notification_count: 0,
      clients: JSON.stringify(clients),
      push_minutes: JSON.stringify(pushMinutes),
      last_seen_at: lastSeenAt,
      interval_ms: 30_000,
    });
    const stats = statsOf(
      [
        row(
          now - 10_000,
          [
            [minute, 1],
            [minute - 59, 2],
            [minute - 60, 4],
          ],
          ["desk-1"],
        ),
        row(
          now - 90_000,
          [
            [minute - 1_439, 8],
            [minute - 1_440, 16],
          ],
          ["desk-1", "desk-2"],
        ),
        row(now - 10 * 60_000, []),
        row(null, []),
      ],
      now,
    );
    expect(stats.pushes).toEqual({ lastHour: 3, lastDay: 15 });
    expect(stats.accountsByHealth).toEqual({ online: 1, late: 1, offline: 1, never: 1 });
    expect(stats).toMatchObject({ accounts: 4, topics: 4, messages: 8, unread: 4, clientsOnline: 2 });
  });
});
