/** Who is online in an AccountRoom (PROTOCOL §11): `monitor:registered {online}` and `monitor:presence`. */
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ClientRegistry, MAX_ONLINE_LISTED } from "../src/objects/room/delivery/client-registry";
import type { Attachment } from "../src/objects/sockets/socket";
import { newAccount, registerMonitor, roomSocket } from "./helpers";

describe("monitor:registered", () => {
  it("lists the clients registered in the room, the caller included, once per clientId", async () => {
    const id = await newAccount();
    const first = await roomSocket(id);
    const firstAnswer = await registerMonitor(first, "desk-b");
    expect(firstAnswer.payload.online).toEqual([{ clientId: "desk-b", userId: "agent-1" }]);
    expect(firstAnswer.payload.onlineTotal).toBe(1);

    const admin = await roomSocket(id, { role: "admin" });
    await registerMonitor(admin, "desk-a");
    // The same device on a second socket is one entry; a socket that never registered is none.
    const again = await roomSocket(id);
    const silent = await roomSocket(id, { query: "&clientId=desk-c" });
    const answer = await registerMonitor(again, "desk-b");
    expect(answer.payload).toMatchObject({
      clientId: "desk-b",
      online: [
        { clientId: "desk-a", userId: "admin-1" },
        { clientId: "desk-b", userId: "agent-1" },
      ],
      onlineTotal: 2,
    });
    for (const socket of [first, admin, again, silent]) socket.close();
  });
});

describe("monitor:request_presence", () => {
  it("answers monitor:presence, without the clients that left", async () => {
    const id = await newAccount();
    const watcher = await roomSocket(id);
    await registerMonitor(watcher, "desk-1");
    const leaving = await roomSocket(id);
    await registerMonitor(leaving, "desk-2");
    expect((await watcher.request("monitor:request_presence", {}, "monitor:presence")).payload).toEqual({
      online: [
        { clientId: "desk-1", userId: "agent-1" },
        { clientId: "desk-2", userId: "agent-1" },
      ],
      onlineTotal: 2,
    });
    leaving.close();
    await watcher.until((f) => f.some((x) => x.type === "status_change" && x.payload.status === "offline"), "offline");
    const after = await watcher.request("monitor:request_presence", {}, "monitor:presence");
    expect(after.payload).toEqual({ online: [{ clientId: "desk-1", userId: "agent-1" }], onlineTotal: 1 });
    watcher.close();
  });

  it("is the same after the room hibernated and woke up", async () => {
    const id = await newAccount();
    const a = await roomSocket(id);
    const b = await roomSocket(id, { role: "admin" });
    await registerMonitor(a, "desk-1");
    await registerMonitor(b, "desk-2");
    const stub = env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${id}`));
    await runInDurableObject(stub, (room) => {
      (room as unknown as { marker?: number }).marker = 1;
    });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    expect(await runInDurableObject(stub, (room) => (room as unknown as { marker?: number }).marker)).toBeUndefined();
    const presence = await a.request("monitor:request_presence", {}, "monitor:presence");
    expect(presence.payload).toEqual({
      online: [
        { clientId: "desk-1", userId: "agent-1" },
        { clientId: "desk-2", userId: "admin-1" },
      ],
      onlineTotal: 2,
    });
    a.close();
    b.close();
  });
});

/** A reader socket as the registry sees it: its attachment and whether it is open. */
function socket(attachment: Attachment): WebSocket & { readyState: number } {
  return { readyState: WebSocket.OPEN, deserializeAttachment: () => attachment } as unknown as WebSocket & {
    readyState: number;
  };
}

function registeredAs(i: number, clientId = `desk-${String(i).padStart(4, "0")}`): Attachment {
  return { id: `s${i}`, sub: `agent-${i}`, role: "agent", exp: 2e9, clientId, registered: true };
}

describe("ClientRegistry", () => {
  it("lists at most 1,000 clients, ordered by clientId, and counts them all in onlineTotal", () => {
    const sockets = Array.from({ length: 1_500 }, (_, i) => socket(registeredAs(1_499 - i)));
    const { online, onlineTotal } = new ClientRegistry(
      () => sockets,
      () => new Map(),
    ).list();
    expect(MAX_ONLINE_LISTED).toBe(1_000);
    expect(online).toHaveLength(1_000);
    expect(online[0]).toEqual({ clientId: "desk-0000", userId: "agent-0" });
    expect(onlineTotal).toBe(1_500);
  });

  it("keeps a client online until its last socket goes, and lists who registered since", () => {
    const sockets = [socket(registeredAs(1, "desk-a")), socket(registeredAs(2, "desk-a"))];
    const registry = new ClientRegistry(
      () => sockets,
      () => new Map(),
    );
    expect(registry.list().onlineTotal).toBe(1);
    const third = registeredAs(3, "desk-b");
    expect(registry.add(socket(third), third)).toBe(true);
    expect(registry.add(socket(registeredAs(4, "desk-b")), registeredAs(4, "desk-b"))).toBe(false);
    expect(registry.list().online.map((client) => client.clientId)).toEqual(["desk-a", "desk-b"]);
    expect(registry.remove(registeredAs(1, "desk-a"))).toBe(false);
    expect(registry.remove(registeredAs(2, "desk-a"))).toBe(true);
    expect(registry.list().online.map((client) => client.clientId)).toEqual(["desk-b"]);
  });

  it("drops a socket that is no longer open though nobody said it closed", () => {
    const gone = socket(registeredAs(1, "desk-a"));
    const registry = new ClientRegistry(
      () => [gone, socket(registeredAs(2, "desk-b"))],
      () => new Map(),
    );
    expect(registry.list().onlineTotal).toBe(2);
    gone.readyState = WebSocket.CLOSED;
    const again = registeredAs(3, "desk-c");
    registry.add(socket(again), again);
    expect(registry.list().online.map((client) => client.clientId)).toEqual(["desk-b", "desk-c"]);
  });

  it("lists the clients expected back after a restart, and one that returns once", () => {
    const expected = new Map([["desk-a", "agent-1"]]);
    const registry = new ClientRegistry(
      () => [],
      () => expected,
    );
    expect(registry.list().online).toEqual([{ clientId: "desk-a", userId: "agent-1" }]);
    const back = registeredAs(1, "desk-a");
    registry.add(socket(back), back);
    expected.delete("desk-a");
    expect(registry.list().online).toEqual([{ clientId: "desk-a", userId: "agent-1" }]);
    // Listed for its socket now, not for having been expected.
    registry.changed();
    expect(registry.list().online).toEqual([{ clientId: "desk-a", userId: "agent-1" }]);
  });
});
