import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/contract/errors";
import { refuseWhenFull, storageState } from "../src/health";
import { api, comment, connect, push, token, uid } from "./helpers";
import type { TestSocket } from "./helpers";

const stubOf = (account: string, tenant: string) =>
  env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${account}`));

async function health(account: string, body: unknown, crawlerToken?: string, tenant = "t1") {
  return api(`/api/v1/accounts/${account}/health`, {
    method: "POST",
    token: crawlerToken ?? (await token("crawler", { tenant })),
    body,
  });
}

async function channelsOf(tenant: string) {
  return (await api("/api/v1/accounts", { token: await token("agent", { tenant }) })).json.channels as any[];
}

async function directorySocket(tenant: string): Promise<TestSocket> {
  const result = await connect(`/api/v1/ws?token=${await token("agent", { tenant })}`);
  return result.socket!;
}

/** Moves the crawler's last sign of life back, as if `ms` had passed since. */
async function age(account: string, tenant: string, ms: number) {
  await runInDurableObject(stubOf(account, tenant), (_room, state) => {
    state.storage.sql.exec("UPDATE account SET last_seen_at = last_seen_at - ?", ms);
  });
}

const alarmOf = (account: string, tenant: string) =>
  runInDurableObject(stubOf(account, tenant), (_room, state) => state.storage.getAlarm());

describe("POST /accounts/:id/health: bad input", () => {
  it("an unknown login state, an interval out of bounds, an unknown field: 400 naming the field, nothing stored", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const cases: [unknown, string][] = [
      [{ login: "sleeping" }, "login"],
      [{ intervalMs: 999 }, "intervalMs"],
      [{ intervalMs: 3_600_001 }, "intervalMs"],
      [{ intervalMs: "30s" }, "intervalMs"],
      [{ error: 42 }, "error"],
      [{ interval: 30_000 }, ""],
    ];
    for (const [body, path] of cases) {
      const res = await health(account, body, undefined, tenant);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe("invalid_body");
      if (path) expect(res.json.error.issues[0].path).toBe(path);
      expect(res.json.error.message).toContain(path || "interval");
    }
    const notJson = await health(account, "{", undefined, tenant);
    expect(notJson.status).toBe(400);
    expect(await channelsOf(tenant)).toEqual([]);
  });

  it("a push whose crawler report is bad is refused whole, naming crawler.login", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const res = await api(`/api/v1/accounts/${account}/sync`, {
      method: "POST",
      token: await token("crawler", { tenant }),
      body: { accountId: account, crawler: { login: "maybe" }, snapshot: { comments: [comment("c1", "w1")] } },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.issues[0].path).toBe("crawler.login");
    expect(await channelsOf(tenant)).toEqual([]);
  });

  it("403 for a crawler token of other accounts and for agents and admins; another tenant's never reaches it", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    expect((await health(account, {}, undefined, tenant)).status).toBe(200);
    // Another tenant's crawler only ever reaches its own tenant's account of that name.
    const elsewhere = uid("tn");
    expect((await health(account, { login: "expired" }, await token("crawler", { tenant: elsewhere }))).status).toBe(
      200,
    );
    expect((await channelsOf(elsewhere)).map((c) => c.health.login)).toEqual(["expired"]);
    expect((await channelsOf(tenant))[0].health.login).toBe("unknown");
    const otherAccounts = await health(account, {}, await token("crawler", { tenant, accounts: ["someone-else"] }));
    expect(otherAccounts.status).toBe(403);
    expect(otherAccounts.json.error.message).toContain(account);
    for (const role of ["agent", "admin"] as const) {
      expect((await health(account, {}, await token(role, { tenant }))).status).toBe(403);
    }
    // The account's own tenant lists it once; the other tenant's call created nothing there.
    expect((await channelsOf(tenant)).map((c) => c.id)).toEqual([account]);
  });
});

describe("health reports", () => {
  it("a health call creates an unknown account, which a QR login can then use before any snapshot", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const res = await health(account, { intervalMs: 60_000, login: "logged_out", version: "1.2.0" }, undefined, tenant);
    expect(res.status).toBe(200);
    expect(res.json.health).toMatchObject({ crawler: "online", intervalMs: 60_000, login: "logged_out" });
    const [channel] = await channelsOf(tenant);
    expect(channel).toMatchObject({ id: account, seq: 0, messageCount: 0 });
    expect(channel.health).toEqual({
      crawler: "online",
      lastSeenAt: expect.any(Number),
      intervalMs: 60_000,
      login: "logged_out",
      storage: "ok",
    });
    const login = await api(`/api/v1/accounts/${account}/login`, {
      method: "POST",
      token: await token("admin", { tenant }),
    });
    expect(login.status).toBe(202);
  });

  it("a push carries the report; an error holds until a sign of life without one, the interval until another is said", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const crawler = { intervalMs: 5_000, login: "logged_in", error: "captcha on the comments page" };
    const first = await api(`/api/v1/accounts/${account}/sync`, {
      method: "POST",
      token: await token("crawler", { tenant }),
      body: { accountId: account, crawler, snapshot: { comments: [comment("c1", "w1")] } },
    });
    expect(first.status).toBe(200);
    expect((await channelsOf(tenant))[0].health).toMatchObject({
      crawler: "online",
      intervalMs: 5_000,
      login: "logged_in",
      error: "captcha on the comments page",
    });
    await push(account, { comments: [comment("c2", "w1")] }, { tenant });
    const after = (await channelsOf(tenant))[0].health;
    expect(after).toMatchObject({ crawler: "online", intervalMs: 5_000, login: "logged_in" });
    expect(after).not.toHaveProperty("error");
  });

  it("a QR login's success logs the account in; a QR code's own expiry is not a session expiry", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const crawler = await token("crawler", { tenant });
    const admin = await token("admin", { tenant });
    await health(account, { login: "logged_out" }, crawler);
    const loginStatus = (status: string) =>
      api(`/api/v1/accounts/${account}/login/status`, { method: "POST", token: crawler, body: { status } });

    await api(`/api/v1/accounts/${account}/login`, { method: "POST", token: admin });
    expect((await loginStatus("expired")).status).toBe(200);
    expect((await channelsOf(tenant))[0].health.login).toBe("logged_out");

    await api(`/api/v1/accounts/${account}/login`, { method: "POST", token: admin });
    expect((await loginStatus("scanned")).status).toBe(200);
    expect((await loginStatus("success")).status).toBe(200);
    expect((await channelsOf(tenant))[0].health.login).toBe("logged_in");

    // The crawler's later report wins: the platform ended the session.
    await health(account, { login: "expired" }, crawler);
    expect((await channelsOf(tenant))[0].health.login).toBe("expired");
  });
});

describe("health transitions", () => {
  it("the room's alarm announces late then offline on the Directory, then stops waking", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const directory = await directorySocket(tenant);
    expect((await health(account, { intervalMs: 10_000 }, undefined, tenant)).status).toBe(200);
    const updates = () => directory.frames.filter((f) => f.type === "channel:updated");
    await directory.until(() => updates().length === 1, "the new channel");
    expect(updates()[0]!.payload.channel.health.crawler).toBe("online");
    const lastSeenAt = updates()[0]!.payload.channel.health.lastSeenAt;
    // The alarm waits for the first transition: two intervals after the last sign of life.
    expect(await alarmOf(account, tenant)).toBe(lastSeenAt + 20_001);

    await age(account, tenant, 20_001);
    expect(await runDurableObjectAlarm(stubOf(account, tenant))).toBe(true);
    await directory.until(() => updates().length === 2, "late");
    expect(updates()[1]!.payload.channel).toMatchObject({ id: account, health: { crawler: "late" } });
    expect(await alarmOf(account, tenant)).toBe(lastSeenAt - 20_001 + 50_001);

    await age(account, tenant, 30_000);
    expect(await runDurableObjectAlarm(stubOf(account, tenant))).toBe(true);
    await directory.until(() => updates().length === 3, "offline");
    expect(updates()[2]!.payload.channel.health.crawler).toBe("offline");
    // Offline is final until the crawler comes back: nothing left to wake the room for.
    expect(await alarmOf(account, tenant)).toBeNull();

    await health(account, {}, undefined, tenant);
    await directory.until(() => updates().length === 4, "back online");
    expect(updates()[3]!.payload.channel.health).toMatchObject({ crawler: "online", intervalMs: 10_000 });
    directory.close();
  });

  it("a push moves the next transition on: the alarm it left early sets itself to it and announces nothing", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    const directory = await directorySocket(tenant);
    const updates = () => directory.frames.filter((f) => f.type === "channel:updated");
    await health(account, { intervalMs: 1_000 }, undefined, tenant);
    const before = await alarmOf(account, tenant);
    const res = await api(`/api/v1/accounts/${account}/sync`, {
      method: "POST",
      token: await token("crawler", { tenant }),
      body: { accountId: account, crawler: { intervalMs: 60_000 }, snapshot: { comments: [comment("c1", "w1")] } },
    });
    expect(res.status).toBe(200);
    await directory.until(() => updates().length === 2, "the push's summary");
    // A push writes no alarm when its deadline is later than the one set.
    expect(await alarmOf(account, tenant)).toBe(before);

    expect(await runDurableObjectAlarm(stubOf(account, tenant))).toBe(true);
    const lastSeenAt = (await channelsOf(tenant))[0].health.lastSeenAt;
    expect(await alarmOf(account, tenant)).toBe(lastSeenAt + 120_001);
    // Nothing changed for the channel list: the early alarm told the Directory nothing.
    await directory.settle(300);
    expect(updates()).toHaveLength(2);
    expect(updates()[1]!.payload.channel.health.crawler).toBe("online");
    directory.close();
  });

  it("an account with no sign of life ever recorded is `never`, and sets no alarm", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] }, { tenant });
    await runInDurableObject(stubOf(account, tenant), (_room, state) => {
      state.storage.sql.exec("UPDATE account SET last_seen_at = NULL, interval_ms = NULL, login = NULL");
    });
    expect(await runDurableObjectAlarm(stubOf(account, tenant))).toBe(true);
    expect((await channelsOf(tenant))[0].health).toEqual({
      crawler: "never",
      lastSeenAt: null,
      intervalMs: null,
      login: "unknown",
      storage: "ok",
    });
    expect(await alarmOf(account, tenant)).toBeNull();
  });
});

describe("storage state", () => {
  it("is high past the operator's share of 10 GB and full past 95 %", () => {
    expect(storageState(null, 80)).toBe("ok");
    expect(storageState(8_000_000_000, 80)).toBe("ok");
    expect(storageState(8_000_000_001, 80)).toBe("high");
    expect(storageState(5_000_000_001, 50)).toBe("high");
    expect(storageState(9_500_000_000, 80)).toBe("high");
    expect(storageState(9_500_000_001, 80)).toBe("full");
  });

  it("a write past the ceiling fails saying the storage is full; other failures stay as they are", () => {
    const full = () =>
      refuseWhenFull(() => {
        throw new Error("database or disk is full: SQLITE_FULL");
      });
    expect(full).toThrow(ApiError);
    expect(full).toThrow(/storage is full .*nothing of this write was stored/);
    const other = new Error("no such table: x");
    expect(() =>
      refuseWhenFull(() => {
        throw other;
      }),
    ).toThrow(other);
    expect(refuseWhenFull(() => 7)).toBe(7);
  });

  it("reaches the channel's health from the size the room reported", async () => {
    const tenant = uid("t");
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] }, { tenant });
    expect((await channelsOf(tenant))[0].health.storage).toBe("ok");
    // The Directory keeps what the room last reported; a report of 9.6 GB is past 95 %.
    const directory = env.DIRECTORY.get(env.DIRECTORY.idFromName(tenant));
    await runInDurableObject(directory, (_d, state) => {
      state.storage.sql.exec("UPDATE channels SET storage_bytes = 9600000000");
    });
    expect((await channelsOf(tenant))[0].health.storage).toBe("full");
  });
});
