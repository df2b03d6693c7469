import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { comment, connect, newAccount, push, roomSocket, token } from "./helpers";

describe("heartbeat", () => {
  it.each([
    ["an AccountRoom", async (id: string) => roomSocket(id)],
    ["the Directory", async () => (await connect(`/api/v1/ws?token=${await token("agent")}`)).socket!],
  ])('%s answers exactly {"type":"ping"} with exactly {"type":"pong"}', async (_name, open) => {
    const socket = await open(await newAccount());
    socket.send('{"type":"ping"}');
    await socket.next("pong");
    expect(socket.raw).toEqual(['{"type":"pong"}']);
    socket.close();
  });
});

describe("bad frames get an error frame and the socket stays open", () => {
  it.each([
    ["not JSON", "{nope", /not valid JSON/, undefined, undefined],
    ["a JSON array", "[1,2]", /JSON object/, undefined, undefined],
    [
      "an unknown type",
      JSON.stringify({ type: "monitor:explode", id: "r1" }),
      /unknown frame type "monitor:explode"/,
      "type",
      "r1",
    ],
    ["a missing type", JSON.stringify({ payload: {} }), /unknown frame type missing/, "type", undefined],
    [
      "a wrong payload",
      JSON.stringify({ type: "monitor:request_messages", id: "r2", payload: { topicId: 5 } }),
      /payload\.topicId/,
      "payload.topicId",
      "r2",
    ],
    [
      "a limit out of range",
      JSON.stringify({ type: "monitor:request_messages", id: "r3", payload: { topicId: "w1", limit: 500 } }),
      /payload\.limit/,
      "payload.limit",
      "r3",
    ],
  ])("%s", async (_name, text, message, path, id) => {
    const socket = await roomSocket(await newAccount());
    socket.send(text);
    const error = await socket.next("error");
    expect(error.payload.code).toBe("invalid_frame");
    expect(error.payload.message).toMatch(message);
    if (path) expect(error.payload.issues.map((i: any) => i.path)).toContain(path);
    expect(error.id).toBe(id);
    expect((await socket.request("monitor:request_topics", {}, "monitor:topics")).type).toBe("monitor:topics");
    socket.close();
  });

  it("a binary frame", async () => {
    const socket = await roomSocket(await newAccount());
    socket.ws.send(new Uint8Array([1, 2, 3]));
    expect((await socket.next("error")).payload.message).toMatch(/binary/);
    expect((await socket.request("monitor:request_topics", {}, "monitor:topics")).type).toBe("monitor:topics");
    socket.close();
  });

  it("an unknown topic is not_found", async () => {
    const socket = await roomSocket(await newAccount());
    const error = await socket.request("monitor:request_messages", { topicId: "nope" }, "monitor:messages");
    expect(error.payload).toMatchObject({ code: "not_found", message: "topic nope does not exist" });
    socket.close();
  });
});

describe("limits and expiry", () => {
  it("a frame over 1 MiB closes the socket with 1009", async () => {
    const socket = await roomSocket(await newAccount());
    socket.send(JSON.stringify({ type: "monitor:request_topics", payload: { pad: "x".repeat(1024 * 1024) } }));
    await socket.until(() => socket.closed !== null, "close");
    expect(socket.closed!.code).toBe(1009);
  });

  it("a socket whose token expired is told so and closed on its next frame", async () => {
    const id = await newAccount();
    const result = await connect(`/api/v1/accounts/${id}/ws?token=${await token("agent", { ttl: 1 })}`);
    const socket = result.socket!;
    await new Promise((r) => setTimeout(r, 1100));
    socket.send({ type: "monitor:request_topics" });
    expect((await socket.next("error")).payload.code).toBe("unauthorized");
    await socket.until(() => socket.closed !== null, "close");
    expect(socket.closed!.code).toBe(4001);
  });
});

describe("presence", () => {
  it("status_change tells the others when a registered client comes and goes", async () => {
    const id = await newAccount();
    const watcher = await roomSocket(id);
    const other = await roomSocket(id, { role: "admin" });
    await other.request("monitor:register", { clientId: "desk-2", clientType: "admin" }, "monitor:registered");
    const online = await watcher.next("status_change");
    expect(online.payload).toEqual({ clientId: "desk-2", userId: "admin-1", status: "online" });
    other.close();
    await watcher.until((f) => f.filter((x) => x.type === "status_change").length === 2, "offline");
    expect(watcher.frames.filter((f) => f.type === "status_change")[1]!.payload.status).toBe("offline");
    expect(other.frames.some((f) => f.type === "status_change")).toBe(false);
    watcher.close();
  });
});

describe("hibernation", () => {
  it("after the room is evicted, every socket still answers and gets live events", async () => {
    const id = await newAccount();
    const sockets = [await roomSocket(id), await roomSocket(id), await roomSocket(id, { query: "&clientId=desk-5" })];
    await sockets[0]!.request("monitor:register", { clientId: "desk-1", clientType: "monitor" }, "monitor:registered");
    const stub = env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`t1/${id}`));
    await runInDurableObject(stub, (room) => {
      (room as unknown as { marker?: number }).marker = 1;
    });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    // The object really started again: what lived only in memory is gone.
    expect(await runInDurableObject(stub, (room) => (room as unknown as { marker?: number }).marker)).toBeUndefined();
    await push(id, { comments: [comment("c2", "w1")] });
    for (const socket of sockets) {
      const message = await socket.next("channel:message");
      expect(message.payload.message.id).toBe("c2");
    }
    // Identity survived in the attachments: the clientId given at connect still acks.
    expect((await sockets[2]!.request("ack", { seq: 3 }, "ack")).payload.seq).toBe(3);
    for (const socket of sockets) socket.close();
  });
});
