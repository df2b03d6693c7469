import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { attachmentBytes, MAX_ATTACHMENT_BYTES } from "../src/objects/sockets/socket";
import type { Attachment } from "../src/objects/sockets/socket";
import { comment, connect, push, token, uid } from "./helpers";

/** `count` account ids of `length` characters each, all different. */
const longIds = (count: number, length: number) =>
  Array.from({ length: count }, (_, i) => `${uid("acc")}-${i}-`.padEnd(length, "x"));

const directory = (tenant: string) => env.DIRECTORY.get(env.DIRECTORY.idFromName(tenant));

/** The stored `socket_accounts` rows of a tenant's Directory, by socket id. */
async function scopeRows(tenant: string): Promise<Map<string, number>> {
  return runInDurableObject(directory(tenant), (_instance, state) => {
    const rows = state.storage.sql
      .exec<{ socket: string; n: number }>("SELECT socket, COUNT(*) AS n FROM socket_accounts GROUP BY socket")
      .toArray();
    return new Map(rows.map((row) => [row.socket, row.n]));
  });
}

/** Every open socket's attachment on one object. */
function attachments(stub: DurableObjectStub): Promise<Attachment[]> {
  return runInDurableObject(stub, (_instance, state) =>
    state.getWebSockets().map((ws) => ws.deserializeAttachment() as Attachment),
  );
}

describe("a token with a long accounts claim", () => {
  it.each([
    ["20 ids of 100 characters (over 2,048 bytes already)", 20, 100],
    ["200 ids of 128 characters (the most a token may carry)", 200, 128],
  ])("%s opens both sockets, and each sees only its accounts", { timeout: 30_000 }, async (_name, count, length) => {
    const tenant = uid("tn");
    const claim = longIds(count, length);
    const [mine, other] = [claim[count - 1]!, uid("outside")];
    for (const account of [mine, other]) await push(account, { comments: [comment("c1", "w1")] }, { tenant });
    const agent = await token("agent", { tenant, accounts: claim });
    expect(JSON.stringify(claim).length).toBeGreaterThan(MAX_ATTACHMENT_BYTES);

    const list = await connect(`/api/v1/ws?token=${agent}`);
    expect(list.status).toBe(101);
    const channels = await list.socket!.request(
      "monitor:register",
      { clientId: "desk-1", clientType: "monitor" },
      "monitor:channels",
    );
    expect(channels.payload.channels.map((c: any) => c.id)).toEqual([mine]);

    const room = await connect(`/api/v1/accounts/${mine}/ws?token=${agent}`);
    expect(room.status).toBe(101);
    const topics = await room.socket!.request("monitor:request_topics", {}, "monitor:topics");
    expect(topics.payload.topics.map((t: any) => t.id)).toEqual(["w1"]);

    // Live updates still follow the claim.
    await push(other, { comments: [comment("c2", "w1")] }, { tenant });
    await push(mine, { comments: [comment("c2", "w1")] }, { tenant });
    const updated = await list.socket!.next("channel:updated");
    expect(updated.payload.channel.id).toBe(mine);
    await list.socket!.settle();
    expect(list.socket!.frames.filter((f) => f.type === "channel:updated").map((f) => f.payload.channel.id)).toEqual([
      mine,
    ]);
    list.socket!.close();
    room.socket!.close();
  });

  it("a restricted admin cannot change a channel outside its claim over the socket", async () => {
    const tenant = uid("tn");
    const claim = longIds(50, 128);
    const outside = uid("outside");
    await push(outside, { comments: [comment("c1", "w1")] }, { tenant });
    const socket = (await connect(`/api/v1/ws?token=${await token("admin", { tenant, accounts: claim })}`)).socket!;
    const answer = await socket.request("channel:update", { channelId: outside, isPinned: true }, "channel:updated");
    expect(answer.type).toBe("error");
    expect(answer.payload.code).toBe("forbidden");
    socket.close();
  });
});

describe("socket attachments", () => {
  it("stay within 2,048 bytes with the longest sub and clientId there are", async () => {
    const tenant = uid("tn");
    const account = uid("acc");
    await push(account, { comments: [comment("c1", "w1")] }, { tenant });
    // A control character is six bytes of JSON; 128 is the most a sub or clientId may have.
    const sub = "\u0001".repeat(128);
    const clientId = "\u0002".repeat(128);
    const agent = await token("agent", { tenant, sub, accounts: [account, ...longIds(199, 128)] });
    const opened = await connect(
      `/api/v1/accounts/${account}/ws?token=${agent}&clientId=${encodeURIComponent(clientId)}`,
    );
    expect([opened.status, opened.json]).toEqual([101, undefined]);
    const room = opened.socket!;
    await room.request("monitor:register", { clientId, clientType: "monitor" }, "monitor:registered");
    const listed = await connect(`/api/v1/ws?token=${agent}`);
    expect(listed.status).toBe(101);
    const list = listed.socket!;
    await list.request("monitor:register", { clientId, clientType: "monitor" }, "monitor:channels");

    const stored = [
      ...(await attachments(env.ACCOUNT_ROOM.get(env.ACCOUNT_ROOM.idFromName(`${tenant}/${account}`)))),
      ...(await attachments(directory(tenant))),
    ];
    expect(stored).toHaveLength(2);
    for (const attachment of stored) {
      expect(attachment).toMatchObject({ sub, clientId });
      expect(attachmentBytes(attachment)).toBeLessThanOrEqual(MAX_ATTACHMENT_BYTES);
    }
    room.close();
    list.close();
  });
});

describe("the accounts of restricted Directory sockets", () => {
  it("are removed when the socket closes", async () => {
    const tenant = uid("tn");
    const socket = (await connect(`/api/v1/ws?token=${await token("agent", { tenant, accounts: longIds(30, 64) })}`))
      .socket!;
    await socket.request("monitor:request_channels", {}, "monitor:channels");
    expect([...(await scopeRows(tenant)).values()]).toEqual([30]);
    socket.close();
    await expect.poll(async () => (await scopeRows(tenant)).size).toBe(0);
  });

  it("of sockets that vanished without a close are swept when new sockets come", async () => {
    const tenant = uid("tn");
    // What a deploy leaves behind: rows whose sockets no longer exist.
    await runInDurableObject(directory(tenant), (_instance, state) => {
      for (let i = 0; i < 40; i++) {
        state.storage.sql.exec(
          "INSERT INTO socket_accounts (account, socket) VALUES ('a', ?), ('b', ?)",
          `gone-${i}`,
          `gone-${i}`,
        );
      }
    });
    const socket = (await connect(`/api/v1/ws?token=${await token("agent", { tenant, accounts: ["a", "b", "c"] })}`))
      .socket!;
    const rows = await scopeRows(tenant);
    expect([...rows.keys()].filter((id) => id.startsWith("gone-"))).toEqual([]);
    expect([...rows.values()]).toEqual([3]);
    socket.close();
  });
});

describe("a token too long for a URL", () => {
  it("is refused in production with 400 naming the URL's size, not a 500", async () => {
    const secret = "a-production-secret-for-this-test";
    const long = await token("agent", { secret, accounts: longIds(200, 128) });
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: secret } as const;
    const url = `http://edge.test/api/v1/ws?token=${long}`;
    const response = await app.fetch(
      new Request(url, { headers: { Upgrade: "websocket" } }),
      { ...env, ...vars } as Env,
      createExecutionContext(),
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body.error.code).toBe("invalid_query");
    expect(body.error.message).toContain(`the URL is ${url.length} bytes`);
    expect(body.error.message).toContain("16384");
    expect(body.error.issues[0].path).toBe("token");
  });

  it("a token that fits is let through in production", async () => {
    const secret = "a-production-secret-for-this-test";
    const short = await token("agent", { secret, accounts: longIds(20, 100) });
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: secret } as const;
    const response = await app.fetch(
      new Request(`http://edge.test/api/v1/ws?token=${short}`, { headers: { Upgrade: "websocket" } }),
      { ...env, ...vars } as Env,
      createExecutionContext(),
    );
    expect(response.status).toBe(101);
    response.webSocket!.accept();
    response.webSocket!.close();
  });
});
