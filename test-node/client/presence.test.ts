/** Who is online (PROTOCOL §11): the adapter's live list, alone and against the real backend. */
import { describe, expect, it } from "vitest";
import { createClient, memoryStorage } from "../../client/adapter";
import type { PresenceListEvent, WebSocketService } from "../../client/adapter";
import { PresenceLists } from "../../client/presence";
import { waitFor } from "./network";
import { useBackend } from "./use-backend";

describe("PresenceLists", () => {
  const registered = (online: { clientId: string; userId: string }[], onlineTotal = online.length) => ({
    type: "monitor:registered",
    payload: { clientId: "me", serverTime: 1, seq: 0, epoch: "e", online, onlineTotal },
  });
  const change = (clientId: string, status: "online" | "offline") => ({
    type: "status_change",
    payload: { clientId, userId: `u-${clientId}`, status },
  });

  it("starts from the room's list and follows status_change in and out", () => {
    const lists = new PresenceLists();
    expect(lists.apply("a", change("x", "online"))).toBeNull();
    expect(lists.apply("a", registered([{ clientId: "me", userId: "u-me" }]))).toEqual({
      accountId: "a",
      online: [{ clientId: "me", userId: "u-me" }],
      onlineTotal: 1,
    });
    lists.apply("a", change("x", "online"));
    expect(lists.get("a")).toEqual({
      accountId: "a",
      online: [
        { clientId: "me", userId: "u-me" },
        { clientId: "x", userId: "u-x" },
      ],
      onlineTotal: 2,
    });
    expect(lists.apply("a", change("x", "online"))).toBeNull();
    expect(lists.apply("a", change("x", "offline"))?.onlineTotal).toBe(1);
    expect(lists.apply("a", change("nobody", "offline"))).toBeNull();
    expect(lists.get("b")).toBeUndefined();
    expect(lists.all()).toEqual([lists.get("a")]);
  });

  it("counts clients beyond the listed 1,000 in the total as they leave", () => {
    const lists = new PresenceLists();
    lists.apply("a", registered([{ clientId: "me", userId: "u" }], 1_500));
    expect(lists.apply("a", change("unlisted", "offline"))?.onlineTotal).toBe(1_499);
  });

  it("a new list (after a reconnect) replaces the old one; forget drops it", () => {
    const lists = new PresenceLists();
    lists.apply("a", registered([{ clientId: "old", userId: "u" }]));
    lists.apply("a", { type: "monitor:presence", payload: { online: [], onlineTotal: 0 } });
    expect(lists.get("a")?.online).toEqual([]);
    lists.forget("a");
    expect(lists.get("a")).toBeUndefined();
  });
});

describe("getPresence and onPresenceList against the backend", () => {
  const live = useBackend();
  const { clients } = live;

  async function connect(accountId: string, clientId: string, client = createClient()): Promise<WebSocketService> {
    clients.push(client);
    await client.connect(live.backend.url, {
      token: () => live.backend.token("agent", { sub: `user-${clientId}` }),
      storage: memoryStorage(),
      accounts: [accountId],
      clientId,
      requestTimeout: 5000,
    });
    return client;
  }

  const ids = (event: PresenceListEvent | undefined) => event?.online.map((c) => c.clientId).sort();

  it("keeps a live list of the account's clients, this one included", async () => {
    const accountId = `presence-${Date.now().toString(36)}`;
    await live.backend.push(accountId, { contents: [{ work_id: "w1" }] });
    const first = createClient();
    let registered = false;
    // The account's registration carries its presence list; the Directory's does not.
    first.on(
      "monitor:registered",
      (payload) => (registered ||= Array.isArray((payload as { online?: unknown }).online)),
    );
    await connect(accountId, "desk-1", first);
    // Listening only once the room has answered: the list known so far comes at once.
    await waitFor(() => registered, "the room's registration");
    let latest: PresenceListEvent | undefined;
    first.onPresenceList((event) => (latest = event));
    expect(ids(latest)).toEqual(["desk-1"]);

    const second = await connect(accountId, "desk-2");
    await waitFor(() => ids(latest)?.join() === "desk-1,desk-2", "desk-2 to come online");
    expect(latest).toMatchObject({ accountId, onlineTotal: 2 });
    const asked = await second.getPresence(accountId);
    expect(ids(asked)).toEqual(["desk-1", "desk-2"]);
    expect(asked.online).toContainEqual({ clientId: "desk-1", userId: "user-desk-1" });

    second.disconnect();
    await waitFor(() => ids(latest)?.join() === "desk-1", "desk-2 to go offline");
    expect(latest?.onlineTotal).toBe(1);
  }, 30_000);
});
