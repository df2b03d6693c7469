/** Statistics (PROTOCOL §11): `GET /api/v1/stats` and `GET /api/v1/accounts/:accountId/stats`. */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DIRECTORY_MIGRATIONS } from "../src/objects/directory/schema";
import { statsOf, statsRows } from "../src/objects/directory/stats";
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

describe("push counts", () => {
  const directoryOf = (tenant: string) => env.DIRECTORY.get(env.DIRECTORY.idFromName(tenant));
  /** The room's newest counted minute (the minute of its last push). */
  const lastPushMinute = (tenant: string, account: string) =>
    runInDurableObject(
      roomOf(tenant, account),
      (_room, state) => state.storage.sql.exec<{ m: number }>("SELECT MAX(minute) AS m FROM push_minutes").one().m,
    );

  it("sums sliding windows of whole minutes: the current one and the 59 (1,439) before it", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const minute = Math.floor(now / 60_000);
    const rows = await runInDurableObject(directoryOf(tenant), (_directory, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM push_minutes");
      const counts: [number, number][] = [
        [minute, 1],
        [minute - 59, 2],
        [minute - 60, 4],
        [minute - 1_439, 8],
        [minute - 1_440, 16],
      ];
      for (const [m, n] of counts) sql.exec("INSERT INTO push_minutes (channel, minute, n) VALUES (?, ?, ?)", a, m, n);
      return statsRows(sql, now);
    });
    expect(rows).toHaveLength(1);
    expect(statsOf(rows, now).pushes).toEqual({ lastHour: 3, lastDay: 15 });
  });

  it("reaches the statistics from each push's summary, minutes the Directory missed included, and never twice", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    const lastHour = async () => (await stats("/api/v1/stats", "agent", { tenant })).json.pushes.lastHour as number;
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    await push(a, { comments: [comment("c2", "w1")] }, { tenant });
    expect(await lastHour()).toBe(2);

    // Pushes the room counted while the Directory did not take its summaries: the next
    // summary carries every minute from the last one the Directory took.
    const minute = await lastPushMinute(tenant, a);
    await runInDurableObject(roomOf(tenant, a), (_room, state) => {
      state.storage.sql.exec("INSERT INTO push_minutes (minute, n) VALUES (?, 3)", minute - 5);
      state.storage.sql.exec("UPDATE account SET pushes_reported = ?", minute - 10);
    });
    await push(a, { comments: [comment("c3", "w1")] }, { tenant });
    expect(await lastHour()).toBe(6);

    // A summary that carries minutes the Directory already has (the whole day, as from a room
    // that has not recorded what the Directory took) counts each of them once.
    await runInDurableObject(roomOf(tenant, a), (_room, state) => {
      state.storage.sql.exec("UPDATE account SET pushes_reported = NULL");
    });
    await push(a, { comments: [comment("c4", "w1")] }, { tenant });
    expect(await lastHour()).toBe(7);

    // Minutes before the newest one the Directory took are not sent again: a push's summary
    // is as small at the end of a busy day as at its start.
    await runInDurableObject(roomOf(tenant, a), (_room, state) => {
      state.storage.sql.exec("INSERT INTO push_minutes (minute, n) VALUES (?, 7)", minute - 8);
    });
    await push(a, { comments: [comment("c5", "w1")] }, { tenant });
    expect(await lastHour()).toBe(8);
  });

  it("moves a Directory's day of push counts out of its channel rows", async () => {
    const tenant = uid("t");
    const a = uid("acc");
    await push(a, { comments: [comment("c1", "w1")] }, { tenant });
    const minute = Math.floor(Date.now() / 60_000);
    const counts = await runInDurableObject(directoryOf(tenant), (_directory, state) => {
      const sql = state.storage.sql;
      // The channel table as it was before the push counts had their own.
      sql.exec("DROP TABLE push_minutes");
      sql.exec("ALTER TABLE channels ADD COLUMN push_minutes TEXT NOT NULL DEFAULT '[]'");
      sql.exec(
        "UPDATE channels SET push_minutes = ? WHERE id = ?",
        JSON.stringify([
          [minute - 2, 5],
          [minute, 1],
        ]),
        a,
      );
      sql.exec(DIRECTORY_MIGRATIONS.find((migration) => migration.includes("CREATE TABLE push_minutes"))!);
      const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('channels')").toArray();
      expect(columns.map((c) => c.name)).not.toContain("push_minutes");
      return sql.exec<{ minute: number; n: number }>("SELECT minute, n FROM push_minutes ORDER BY minute").toArray();
    });
    expect(counts).toEqual([
      { minute: minute - 2, n: 5 },
      { minute, n: 1 },
    ]);
    expect((await stats("/api/v1/stats", "agent", { tenant })).json.pushes).toEqual({ lastHour: 6, lastDay: 6 });
  });
});
