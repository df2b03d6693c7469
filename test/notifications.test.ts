/** Notification history (PROTOCOL §11): `sentAt`, the socket page and its HTTP twin. */
import { describe, expect, it } from "vitest";
import { api, push, roomSocket, token, uid } from "./helpers";

const notification = (n: number) => ({
  notification_id: `n${n}`,
  type: "like",
  title: `Like ${n}`,
  content: `someone liked work ${n}`,
  create_time: 1_730_000_000 + n,
  related_id: `w${n}`,
});

/** Pushes `count` notifications, one push each, so notification `n` has seq `n`. */
async function pushNotifications(account: string, count: number, tenant = "t1") {
  for (let n = 1; n <= count; n++) {
    const res = await push(account, { notifications: [notification(n)] }, { tenant });
    expect(res.status).toBe(200);
  }
}

async function history(account: string, query = "", role: "agent" | "admin" | "crawler" = "agent", options = {}) {
  return api(`/api/v1/accounts/${account}/notifications${query}`, { token: await token(role, options) });
}

describe("GET /api/v1/accounts/:accountId/notifications", () => {
  it("gives the stored notifications newest first, shaped as PROTOCOL §11", async () => {
    const account = uid("acc");
    await pushNotifications(account, 2);
    const res = await history(account);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      hasMore: false,
      notifications: [
        {
          id: "n2",
          channelId: account,
          seq: 2,
          type: "like",
          title: "Like 2",
          content: "someone liked work 2",
          relatedId: "w2",
          timestamp: 1_730_000_002_000,
          sentAt: null,
        },
        {
          id: "n1",
          channelId: account,
          seq: 1,
          type: "like",
          title: "Like 1",
          content: "someone liked work 1",
          relatedId: "w1",
          timestamp: 1_730_000_001_000,
          sentAt: null,
        },
      ],
    });
  });

  it("pages with before and limit until hasMore is false", async () => {
    const account = uid("acc");
    await pushNotifications(account, 5);
    const first = await history(account, "?limit=2");
    expect(first.json.notifications.map((n: { id: string }) => n.id)).toEqual(["n5", "n4"]);
    expect(first.json.hasMore).toBe(true);
    const second = await history(account, "?limit=2&before=4");
    expect(second.json.notifications.map((n: { id: string }) => n.id)).toEqual(["n3", "n2"]);
    expect(second.json.hasMore).toBe(true);
    const last = await history(account, "?limit=2&before=2");
    expect(last.json.notifications.map((n: { id: string }) => n.id)).toEqual(["n1"]);
    expect(last.json.hasMore).toBe(false);
  });

  it("defaults to 50 a page", async () => {
    const account = uid("acc");
    await push(account, { notifications: Array.from({ length: 51 }, (_, i) => notification(i + 1)) });
    const page = await history(account);
    expect(page.json.notifications).toHaveLength(50);
    expect(page.json.hasMore).toBe(true);
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=201", "limit"],
    ["?limit=ten", "limit"],
    ["?before=1.5", "before"],
    ["?before=-1", "before"],
  ])("%s is invalid_query naming the field", async (query, field) => {
    const account = uid("acc");
    await pushNotifications(account, 1);
    const res = await history(account, query);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_query");
    expect(res.json.error.message).toContain(field);
  });

  it("refuses a crawler, another tenant and an account outside the token's claim", async () => {
    const account = uid("acc");
    await pushNotifications(account, 1);
    expect((await history(account, "", "crawler")).status).toBe(403);
    expect((await history(account, "", "agent", { tenant: "t2" })).status).toBe(403);
    expect((await history(account, "", "agent", { accounts: ["other"] })).status).toBe(403);
    expect((await history(account, "", "admin")).status).toBe(200);
  });
});

describe("monitor:request_notifications", () => {
  it("answers monitor:notifications with the same page as HTTP", async () => {
    const account = uid("acc");
    await pushNotifications(account, 3);
    const socket = await roomSocket(account);
    const answer = await socket.request(
      "monitor:request_notifications",
      { before: 3, limit: 1 },
      "monitor:notifications",
    );
    expect(answer.type).toBe("monitor:notifications");
    const http = await history(account, "?before=3&limit=1");
    expect(answer.payload).toEqual(http.json);
    expect(answer.payload.notifications[0].id).toBe("n2");
    expect(answer.payload.hasMore).toBe(true);
    socket.close();
  });

  it("answers a bad limit with an error frame naming the field, and the socket stays open", async () => {
    const account = uid("acc");
    await pushNotifications(account, 1);
    const socket = await roomSocket(account);
    const error = await socket.request("monitor:request_notifications", { limit: 500 }, "monitor:notifications");
    expect(error.type).toBe("error");
    expect(error.payload.code).toBe("invalid_frame");
    expect(error.payload.message).toContain("limit");
    const page = await socket.request("monitor:request_notifications", {}, "monitor:notifications");
    expect(page.payload.notifications).toHaveLength(1);
    socket.close();
  });
});

describe("sentAt", () => {
  it("is set by the first client:notification:ack and kept by later ones, with no event", async () => {
    const account = uid("acc");
    await pushNotifications(account, 2);
    const socket = await roomSocket(account);
    await socket.request("monitor:register", { clientId: uid("desk"), clientType: "monitor" }, "monitor:registered");
    const before = Date.now();
    await socket.request("client:notification:ack", { notification_id: "n1" }, "ack");
    const after = Date.now();
    const first = await history(account);
    const sentAt = first.json.notifications[1].sentAt;
    expect(first.json.notifications[0].sentAt).toBeNull();
    expect(sentAt).toBeGreaterThanOrEqual(before);
    expect(sentAt).toBeLessThanOrEqual(after);

    const other = await roomSocket(account);
    await other.request("monitor:register", { clientId: uid("desk"), clientType: "monitor" }, "monitor:registered");
    await new Promise((r) => setTimeout(r, 5));
    await other.request("client:notification:ack", { notification_id: "n1" }, "ack");
    expect((await history(account)).json.notifications[1].sentAt).toBe(sentAt);
    await socket.settle();
    expect(socket.events()).toEqual([]);
    socket.close();
    other.close();
  });
});
