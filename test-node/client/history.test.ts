/** The adapter's calls over PROTOCOL §11 against the real backend: notification history. */
import { describe, expect, it } from "vitest";
import { AdapterError, createClient, memoryStorage } from "../../client/adapter";
import type { WebSocketService } from "../../client/adapter";
import { sleep } from "./network";
import { useBackend } from "./use-backend";

const live = useBackend();
const { clients } = live;

let counter = 0;

async function newAccount(notifications = 0): Promise<string> {
  const accountId = `history-${Date.now().toString(36)}-${++counter}`;
  await live.backend.push(accountId, {
    notifications: Array.from({ length: notifications }, (_, i) => ({
      notification_id: `n${i + 1}`,
      type: "comment",
      title: `Notification ${i + 1}`,
      create_time: 1_730_000_000 + i,
    })),
  });
  return accountId;
}

async function connect(accountId: string, clientId = `desk-${++counter}`): Promise<WebSocketService> {
  const client = createClient();
  clients.push(client);
  await client.connect(live.backend.url, {
    token: () => live.backend.token("agent", { sub: `agent-${clientId}` }),
    storage: memoryStorage(),
    accounts: [accountId],
    clientId,
    requestTimeout: 5000,
  });
  return client;
}

describe("requestNotifications", () => {
  it("pages an account's notifications newest first, and shows which were acknowledged", async () => {
    const accountId = await newAccount(3);
    const client = await connect(accountId);
    const first = await client.requestNotifications(accountId, { limit: 2 });
    expect(first.notifications.map((n) => n.id)).toEqual(["n3", "n2"]);
    expect(first.notifications[0]).toMatchObject({ channelId: accountId, title: "Notification 3", sentAt: null });
    expect(first.hasMore).toBe(true);
    const rest = await client.requestNotifications(accountId, { before: first.before, limit: 2 });
    expect(rest.notifications.map((n) => n.id)).toEqual(["n1"]);
    expect(rest.hasMore).toBe(false);

    // A notification seen only in the history is acknowledged without naming its account,
    // even with another account open.
    const other = await newAccount();
    await client.requestTopics(other);
    expect(client.sendNotificationAck("n1")).toBe(true);
    let sentAt: number | null | undefined = null;
    for (let tries = 0; tries < 50 && sentAt === null; tries++) {
      await sleep(100);
      sentAt = (await client.requestNotifications(accountId)).notifications[2]?.sentAt;
    }
    expect(sentAt).toEqual(expect.any(Number));
  }, 30_000);

  it("rejects a limit out of range with an AdapterError naming it", async () => {
    const accountId = await newAccount(1);
    const client = await connect(accountId);
    const error = await client.requestNotifications(accountId, { limit: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).message).toContain("limit");
  }, 30_000);
});
