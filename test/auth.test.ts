import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { DEV_AUTH_SECRET, signToken } from "../src/auth";
import type { Claims, Role } from "../src/auth";
import { api, comment, connect, conversation, dm, push, token, uid, work } from "./helpers";
import type { TestSocket } from "./helpers";

// ---------------------------------------------------------------------------
// Helpers of this file

/**
 * For setups and tests that make several round trips to the Worker and its objects: on a busy
 * 2-core machine one can take a second, and a new account's first one longer.
 */
const SLOW = 30_000;

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A token with header {"alg":"none"} and an empty signature, claims otherwise valid. */
function unsignedToken(role: Role, tenant: string): string {
  const claims = { sub: `${role}-1`, tid: tenant, role, exp: Math.floor(Date.now() / 1000) + 3600 };
  return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.`;
}

/** A correctly signed token whose claims lack the tenant. */
function tokenWithoutTenant(role: Role): Promise<string> {
  const claims = { sub: `${role}-1`, role, exp: Math.floor(Date.now() / 1000) + 3600 };
  return signToken(claims as unknown as Claims, DEV_AUTH_SECRET);
}

/** One tenant with one account whose every item carries `marker`, so a leak is easy to spot. */
type Fixture = { tenant: string; account: string; marker: string };

async function fixture(): Promise<Fixture> {
  const tenant = uid("tenant-a");
  const account = uid("acc");
  const marker = uid("secret-of-a");
  const res = await push(
    account,
    {
      contents: [work("w1", { title: `Video ${marker}` })],
      comments: [comment("c1", "w1", { content: `Comment ${marker}` })],
      conversations: [conversation("cv1", { participant: { user_id: "p1", user_name: `Buyer ${marker}` } })],
      messages: [dm("m1", "cv1", { content: `DM ${marker}` })],
    },
    { tenant, account: { name: `Brand ${marker}` } },
  );
  expect(res.status).toBe(200);
  return { tenant, account, marker };
}

type Call = { status: number; json: any; socket?: TestSocket };

/** An agent of the fixture's tenant replies to c1; returns the command the crawler will see. */
async function requestReply(fx: Fixture): Promise<string> {
  const agent = await token("agent", { tenant: fx.tenant });
  await api(`/api/v1/accounts/${fx.account}/topics/w1/replies`, {
    method: "POST",
    token: agent,
    body: { content: "reply to c1", clientMsgId: "k-fixture" },
  });
  const crawler = await token("crawler", { tenant: fx.tenant, sub: "fixture-crawler" });
  const list = await api(`/api/v1/accounts/${fx.account}/commands`, { token: crawler });
  return list.json.commands[0].id;
}

async function open(path: string, bearer: string | undefined): Promise<Call> {
  const query = bearer === undefined ? "" : `${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(bearer)}`;
  const result = await connect(`${path}${query}`);
  if (result.socket) onTestFinished(() => result.socket!.close());
  return { status: result.status, json: result.json, socket: result.socket };
}

async function channelsOnSocket(socket: TestSocket): Promise<any[]> {
  const answer = await socket.request("monitor:request_channels", {}, "monitor:channels");
  expect(answer.type).toBe("monitor:channels");
  return answer.payload.channels;
}

/** What tenant A's users see of the account: to show a refused request changed nothing. */
async function stateOf(fx: Fixture): Promise<unknown> {
  const admin = await token("admin", { tenant: fx.tenant });
  const channels = await api("/api/v1/accounts", { token: admin });
  const topics = await api(`/api/v1/accounts/${fx.account}/topics`, { token: admin });
  const messages = await api(`/api/v1/accounts/${fx.account}/topics/w1/messages`, { token: admin });
  return { channels: channels.json, topics: topics.json, messages: messages.json };
}

// ---------------------------------------------------------------------------
// The routes

/**
 * - "account": the request names one account → 403 for another tenant or outside `accounts`.
 * - "list": the request lists the tenant's channels → 2xx, but only what the token may see.
 * - "push": a crawler's push; account ids belong to a tenant, so another tenant's crawler
 *   pushing to the same id writes its own account, never this one.
 */
type Scope = "account" | "list" | "push";

type Route = {
  name: string;
  surface: "v1" | "im" | "socket";
  scope: Scope;
  /** Roles the route serves (2xx / 101). */
  allowed: Role[];
  /** Roles refused with 403. */
  denied: Role[];
  /** Whether the route changes what agents see (then a refused request must change nothing). */
  mutates?: boolean;
  /**
   * Whether a served call writes to the account: then each such test gets an account of its
   * own, while the route's other tests share one. What a call prepares first (a reply for the
   * crawler to take, a login under way) comes out the same however often it runs.
   */
  writes?: boolean;
  call(fx: Fixture, bearer: string | undefined): Promise<Call>;
  /** What a served request must show. */
  served(call: Call, fx: Fixture): Promise<void>;
  /** The channel list a "list" route shows. */
  list?(call: Call): Promise<any[]>;
};

const get = (path: string) => (bearer: string | undefined) => api(path, bearer === undefined ? {} : { token: bearer });

const ROUTES: Route[] = [
  {
    name: "GET /api/v1/accounts",
    surface: "v1",
    scope: "list",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (_fx, bearer) => get("/api/v1/accounts")(bearer),
    async served(call, fx) {
      expect(call.status).toBe(200);
      expect(call.json.channels.map((c: any) => [c.id, c.name])).toEqual([[fx.account, `Brand ${fx.marker}`]]);
    },
    list: async (call) => call.json.channels,
  },
  {
    name: "PATCH /api/v1/accounts/:accountId",
    surface: "v1",
    scope: "account",
    allowed: ["admin"],
    denied: ["agent", "crawler"],
    mutates: true,
    writes: true,
    call: (fx, bearer) =>
      api(`/api/v1/accounts/${fx.account}`, {
        method: "PATCH",
        body: { name: "Renamed", isPinned: true },
        ...(bearer === undefined ? {} : { token: bearer }),
      }),
    async served(call, fx) {
      expect(call.status).toBe(200);
      expect(call.json.channel).toMatchObject({ id: fx.account, name: "Renamed", isPinned: true });
    },
  },
  {
    name: "GET /api/v1/accounts/:accountId/topics",
    surface: "v1",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/v1/accounts/${fx.account}/topics`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.topics.map((t: any) => t.id).sort()).toEqual(["cv1", "w1"]);
    },
  },
  {
    name: "GET /api/v1/accounts/:accountId/topics/:topicId/messages",
    surface: "v1",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/v1/accounts/${fx.account}/topics/w1/messages`)(bearer),
    async served(call, fx) {
      expect(call.status).toBe(200);
      expect(call.json.messages.map((m: any) => m.content)).toEqual([`Comment ${fx.marker}`]);
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/sync",
    surface: "v1",
    scope: "push",
    allowed: ["crawler"],
    denied: ["agent", "admin"],
    mutates: true,
    writes: true,
    call: (fx, bearer) =>
      api(`/api/v1/accounts/${fx.account}/sync`, {
        method: "POST",
        body: {
          accountId: fx.account,
          snapshot: { comments: [comment("intruder", "w1", { content: "pushed by the caller" })] },
        },
        ...(bearer === undefined ? {} : { token: bearer }),
      }),
    async served(call, fx) {
      expect(call.status).toBe(200);
      expect(call.json).toMatchObject({ ok: true, counts: { comments: { received: 1, new: 1, updated: 0 } } });
      const page = await api(`/api/v1/accounts/${fx.account}/topics/w1/messages`, {
        token: await token("agent", { tenant: fx.tenant }),
      });
      expect(page.json.messages.map((m: any) => m.id)).toEqual(["c1", "intruder"]);
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/topics/:topicId/replies",
    surface: "v1",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    mutates: true,
    writes: true,
    call: (fx, bearer) =>
      api(`/api/v1/accounts/${fx.account}/topics/w1/replies`, {
        method: "POST",
        body: { content: "a reply", clientMsgId: uid("k") },
        ...(bearer === undefined ? {} : { token: bearer }),
      }),
    async served(call) {
      expect(call.status).toBe(201);
      expect(call.json.message).toMatchObject({ kind: "reply", status: "pending", content: "a reply" });
    },
  },
  {
    name: "GET /api/v1/accounts/:accountId/commands",
    surface: "v1",
    scope: "account",
    allowed: ["crawler"],
    denied: ["agent", "admin"],
    writes: true,
    call: async (fx, bearer) => {
      await requestReply(fx);
      return get(`/api/v1/accounts/${fx.account}/commands?status=pending`)(bearer);
    },
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.commands.map((c: any) => c.content)).toEqual(["reply to c1"]);
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/commands/:id/result",
    surface: "v1",
    scope: "account",
    allowed: ["crawler"],
    denied: ["agent", "admin"],
    writes: true,
    call: async (fx, bearer) => {
      const id = await requestReply(fx);
      return api(`/api/v1/accounts/${fx.account}/commands/${id}/result`, {
        method: "POST",
        body: { status: "sent", platformMessageId: uid("plat") },
        ...(bearer === undefined ? {} : { token: bearer }),
      });
    },
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.command).toMatchObject({ status: "sent" });
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/login",
    surface: "v1",
    scope: "account",
    allowed: ["admin"],
    denied: ["agent", "crawler"],
    writes: true,
    call: (fx, bearer) =>
      api(`/api/v1/accounts/${fx.account}/login`, {
        method: "POST",
        ...(bearer === undefined ? {} : { token: bearer }),
      }),
    async served(call) {
      expect(call.status).toBe(202);
      expect(call.json.command).toMatchObject({ type: "login", status: "pending" });
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/qrcode",
    surface: "v1",
    scope: "account",
    allowed: ["crawler"],
    denied: ["agent", "admin"],
    writes: true,
    call: async (fx, bearer) => {
      await api(`/api/v1/accounts/${fx.account}/login`, {
        method: "POST",
        token: await token("admin", { tenant: fx.tenant }),
      });
      return api(`/api/v1/accounts/${fx.account}/qrcode`, {
        method: "POST",
        body: { image: "data:image/png;base64,AAAA", expiresAt: Date.now() + 60_000 },
        ...(bearer === undefined ? {} : { token: bearer }),
      });
    },
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json).toMatchObject({ ok: true, seq: expect.any(Number) });
    },
  },
  {
    name: "POST /api/v1/accounts/:accountId/login/status",
    surface: "v1",
    scope: "account",
    allowed: ["crawler"],
    denied: ["agent", "admin"],
    writes: true,
    call: async (fx, bearer) => {
      await api(`/api/v1/accounts/${fx.account}/login`, {
        method: "POST",
        token: await token("admin", { tenant: fx.tenant }),
      });
      return api(`/api/v1/accounts/${fx.account}/login/status`, {
        method: "POST",
        body: { status: "scanned" },
        ...(bearer === undefined ? {} : { token: bearer }),
      });
    },
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json).toMatchObject({ ok: true });
    },
  },
  {
    name: "GET /api/im/conversations",
    surface: "im",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/im/conversations?account_id=${fx.account}`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.status_code).toBe(0);
      expect(call.json.data.conversations.map((c: any) => c.conversation_id)).toEqual(["cv1"]);
    },
  },
  {
    name: "GET /api/im/messages",
    surface: "im",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/im/messages?account_id=${fx.account}&conversation_id=cv1`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.status_code).toBe(0);
      expect(call.json.data.messages.map((m: any) => m.msg_id)).toEqual(["m1"]);
    },
  },
  {
    name: "GET /api/im/discussions",
    surface: "im",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/im/discussions?account_id=${fx.account}`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.status_code).toBe(0);
      expect(call.json.data.discussions.map((d: any) => d.cid)).toEqual(["c1"]);
    },
  },
  {
    name: "GET /api/im/contents",
    surface: "im",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/im/contents?account_id=${fx.account}`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.status_code).toBe(0);
      expect(call.json.data.contents.map((c: any) => c.aweme_id)).toEqual(["w1"]);
    },
  },
  {
    name: "GET /api/im/unified-messages",
    surface: "im",
    scope: "account",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (fx, bearer) => get(`/api/im/unified-messages?account_id=${fx.account}&types=comment,message`)(bearer),
    async served(call) {
      expect(call.status).toBe(200);
      expect(call.json.status_code).toBe(0);
      expect(call.json.data.messages.map((m: any) => m.id).sort()).toEqual(["c1", "m1"]);
    },
  },
  {
    name: "GET /api/v1/ws (Directory socket)",
    surface: "socket",
    scope: "list",
    allowed: ["agent", "admin"],
    denied: ["crawler"],
    call: (_fx, bearer) => open("/api/v1/ws", bearer),
    async served(call, fx) {
      expect(call.status).toBe(101);
      const channels = await channelsOnSocket(call.socket!);
      expect(channels.map((c: any) => [c.id, c.name])).toEqual([[fx.account, `Brand ${fx.marker}`]]);
    },
    list: (call) => channelsOnSocket(call.socket!),
  },
  {
    name: "GET /api/v1/accounts/:accountId/ws (AccountRoom socket)",
    surface: "socket",
    scope: "account",
    allowed: ["agent", "admin", "crawler"],
    denied: [],
    call: (fx, bearer) => open(`/api/v1/accounts/${fx.account}/ws`, bearer),
    async served(call) {
      expect(call.status).toBe(101);
      expect(call.socket).toBeDefined();
    },
  },
];

/** The refusal body of PROTOCOL §3 (`/api/v1`, sockets) or §8 (`/api/im`). */
function expectRefusal(route: Route, call: Call, status: 401 | 403, fx: Fixture) {
  expect(call.status).toBe(status);
  expect(call.socket).toBeUndefined();
  if (route.surface === "im") {
    expect(call.json).toEqual({ status_code: expect.any(Number), status_msg: expect.any(String) });
    expect(call.json.status_code).not.toBe(0);
    expect(call.json.status_msg).not.toBe("");
  } else {
    expect(call.json).toEqual({
      error: expect.objectContaining({
        code: status === 401 ? "unauthorized" : "forbidden",
        message: expect.any(String),
      }),
    });
    expect(call.json.error.message).not.toBe("");
  }
  expect(JSON.stringify(call.json)).not.toContain(fx.marker);
}

type BadToken = { name: string; make(role: Role, fx: Fixture): Promise<string | undefined> | string | undefined };

const UNAUTHENTICATED: BadToken[] = [
  { name: "no token", make: () => undefined },
  { name: "a malformed token", make: () => "this-is-not-a-jwt" },
  { name: "a token of three parts that are not JSON", make: () => "abc.def.ghi" },
  {
    name: "a token signed with another secret",
    make: (role, fx) => token(role, { tenant: fx.tenant, secret: "some-other-secret" }),
  },
  { name: 'an "alg: none" token with an empty signature', make: (role, fx) => unsignedToken(role, fx.tenant) },
  { name: "an expired token", make: (role, fx) => token(role, { tenant: fx.tenant, ttl: -60 }) },
  { name: "a signed token without a tenant claim", make: (role) => tokenWithoutTenant(role) },
];

/** A fixture, and what its users see when the route could change that. */
async function prepared(route: Route): Promise<{ fx: Fixture; before: unknown }> {
  const fx = await fixture();
  return { fx, before: route.mutates ? await stateOf(fx) : null };
}

for (const route of ROUTES) {
  describe(route.name, () => {
    const role = route.allowed[0]!;
    const success = route.surface === "socket" ? "101" : "2xx";

    // Setting up an account is most of a test's cost, and most tests here are refused, which
    // writes nothing: they share one account per route.
    let shared: { fx: Fixture; before: unknown };
    beforeAll(async () => {
      shared = await prepared(route);
    }, SLOW);
    /** The account of a test whose call is served: its own when that writes. */
    const servedFixture = async () => (route.writes ? fixture() : shared.fx);
    // A route that writes makes a test set up an account, prepare the call or read the account
    // again: several round trips.
    const several = { timeout: route.writes ? SLOW : undefined };

    /** A refused call answers `status` with the refusal body, and the account is as it was. */
    async function refused(
      status: 401 | 403,
      bearer: (fx: Fixture) => Promise<string | undefined> | string | undefined,
    ): Promise<void> {
      const { fx, before } = shared;
      const call = await route.call(fx, await bearer(fx));
      expectRefusal(route, call, status, fx);
      if (before) expect(await stateOf(fx)).toEqual(before);
    }

    for (const bad of UNAUTHENTICATED) {
      it(`${bad.name} gets 401${route.surface === "socket" ? ", not a 101" : ""}`, several, () =>
        refused(401, (fx) => bad.make(role, fx)),
      );
    }

    for (const denied of route.denied) {
      it(`role ${denied} gets 403`, several, () => refused(403, (fx) => token(denied, { tenant: fx.tenant })));
    }

    for (const allowed of route.allowed) {
      it(`role ${allowed} gets ${success}`, several, async () => {
        const fx = await servedFixture();
        await route.served(await route.call(fx, await token(allowed, { tenant: fx.tenant })), fx);
      });
    }

    if (route.scope === "account") {
      it("a token of another tenant gets 403 and none of the account's data", several, () =>
        refused(403, () => token(role, { tenant: uid("tenant-b") })),
      );

      it("an account outside the token's accounts claim gets 403", several, () =>
        refused(403, (fx) => token(role, { tenant: fx.tenant, accounts: [uid("other-acc")] })),
      );

      it(`an account inside the token's accounts claim gets ${success}`, several, async () => {
        const fx = await servedFixture();
        await route.served(
          await route.call(fx, await token(role, { tenant: fx.tenant, accounts: [uid("other-acc"), fx.account] })),
          fx,
        );
      });
    }

    if (route.scope === "list") {
      it("a token of another tenant lists none of the tenant's channels", async () => {
        const { fx } = shared;
        const call = await route.call(fx, await token(role, { tenant: uid("tenant-b") }));
        expect(call.status).toBe(route.surface === "socket" ? 101 : 200);
        expect(await route.list!(call)).toEqual([]);
        const everythingSent = call.socket ? call.socket.raw.join("\n") : JSON.stringify(call.json);
        expect(everythingSent).not.toContain(fx.marker);
        expect(everythingSent).not.toContain(fx.account);
      });

      it("an account outside the token's accounts claim is not listed", async () => {
        const { fx } = shared;
        const call = await route.call(fx, await token(role, { tenant: fx.tenant, accounts: [uid("other-acc")] }));
        expect(call.status).toBe(route.surface === "socket" ? 101 : 200);
        expect(await route.list!(call)).toEqual([]);
      });
    }

    if (route.scope === "push") {
      // Served, but into the other tenant's account: this tenant's stays untouched.
      it(
        "another tenant's crawler pushing to the same account id writes its own account, never this one",
        {
          timeout: SLOW,
        },
        async () => {
          const { fx, before } = shared;
          const other = uid("tenant-b");
          const call = await route.call(fx, await token(role, { tenant: other }));
          expect(call.status).toBe(200);
          expect(JSON.stringify(call.json)).not.toContain(fx.marker);
          expect(await stateOf(fx)).toEqual(before);
          const theirs = await api(`/api/v1/accounts/${fx.account}/topics/w1/messages`, {
            token: await token("agent", { tenant: other }),
          });
          expect(theirs.json.messages.map((m: any) => m.id)).toEqual(["intruder"]);
        },
      );

      it("an account outside the token's accounts claim gets 403 and stores nothing", several, () =>
        refused(403, (fx) => token(role, { tenant: fx.tenant, accounts: [uid("other-acc")] })),
      );
    }
  });
}

describe("a crawler on the AccountRoom socket", () => {
  it("is refused reads and is sent none of the account's data, live or replayed", { timeout: SLOW }, async () => {
    const fx = await fixture();
    const call = await open(`/api/v1/accounts/${fx.account}/ws?since=0`, await token("crawler", { tenant: fx.tenant }));
    expect(call.status).toBe(101);
    const socket = call.socket!;
    const topics = await socket.request("monitor:request_topics", {}, "monitor:topics");
    expect(topics.type).toBe("error");
    expect(topics.payload.code).toBe("forbidden");
    const messages = await socket.request("monitor:request_messages", { topicId: "w1" }, "monitor:messages");
    expect(messages.type).toBe("error");
    expect(messages.payload.code).toBe("forbidden");
    // A later push by the crawler itself is not echoed back to it either.
    await push(
      fx.account,
      { comments: [comment("c2", "w1", { content: `Later ${fx.marker}` })] },
      { tenant: fx.tenant },
    );
    const after = await socket.request("monitor:request_topics", {}, "monitor:topics");
    expect(after.type).toBe("error");
    expect(socket.raw.join("\n")).not.toContain(fx.marker);
  });
});

// ---------------------------------------------------------------------------

describe("GET /api/v1/status", () => {
  // Tenant data that must not show up in the answer.
  let fx: Fixture;
  beforeAll(async () => {
    fx = await fixture();
  }, SLOW);

  it("answers without a token, with status, version and time only", async () => {
    const res = await api("/api/v1/status");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ok", version: expect.any(String), time: expect.any(Number) });
    const text = JSON.stringify(res.json);
    expect(text).not.toContain(fx.marker);
    expect(text).not.toContain(fx.account);
    expect(text).not.toContain(fx.tenant);
  });

  it("answers the same with a bad token and shows no tenant data to a valid one", async () => {
    const bad = await api("/api/v1/status", { token: "this-is-not-a-jwt" });
    expect(bad.status).toBe(200);
    const good = await api("/api/v1/status", { token: await token("admin", { tenant: fx.tenant }) });
    expect(Object.keys(good.json).sort()).toEqual(["status", "time", "version"]);
    expect(JSON.stringify(good.json)).not.toContain(fx.account);
  });
});

describe("tenants whose account ids collide", () => {
  async function twoTenants() {
    const a = uid("tenant-a");
    const b = uid("tenant-b");
    const account = uid("acc");
    for (const [tenant, label] of [
      [a, "AAA"],
      [b, "BBB"],
    ] as const) {
      const res = await push(
        account,
        {
          contents: [work("w1", { title: `Video ${label}` }), work(`only-${label}`, { title: `Only ${label}` })],
          comments: [comment(`c-${label}`, "w1", { content: `Comment ${label}` })],
          conversations: [conversation("cv1", { participant: { user_id: `p-${label}`, user_name: `Buyer ${label}` } })],
          messages: [dm(`m-${label}`, "cv1", { content: `DM ${label}` })],
        },
        { tenant, account: { name: `Brand ${label}` } },
      );
      expect(res.status).toBe(200);
    }
    return {
      account,
      tenants: [
        { tenant: a, own: "AAA", other: "BBB" },
        { tenant: b, own: "BBB", other: "AAA" },
      ],
    };
  }

  // Read by every test but the rename, which writes and so sets up its own.
  let shared: Awaited<ReturnType<typeof twoTenants>>;
  beforeAll(async () => {
    shared = await twoTenants();
  }, SLOW);

  it("each tenant's channel list shows only its own channel", { timeout: SLOW }, async () => {
    const { account, tenants } = shared;
    for (const t of tenants) {
      const res = await api("/api/v1/accounts", { token: await token("agent", { tenant: t.tenant }) });
      expect(res.json.channels.map((c: any) => [c.id, c.name])).toEqual([[account, `Brand ${t.own}`]]);
    }
  });

  it("each tenant's Directory socket lists only its own channel", { timeout: SLOW }, async () => {
    const { account, tenants } = shared;
    for (const t of tenants) {
      const call = await open("/api/v1/ws", await token("agent", { tenant: t.tenant }));
      const channels = await channelsOnSocket(call.socket!);
      expect(channels.map((c: any) => [c.id, c.name])).toEqual([[account, `Brand ${t.own}`]]);
    }
  });

  it("each tenant's topics and messages are only its own", { timeout: SLOW }, async () => {
    const { account, tenants } = shared;
    for (const t of tenants) {
      const agent = await token("agent", { tenant: t.tenant });
      const topics = await api(`/api/v1/accounts/${account}/topics`, { token: agent });
      expect(topics.json.topics.map((x: any) => x.title).sort()).toEqual([
        `Buyer ${t.own}`,
        `Only ${t.own}`,
        `Video ${t.own}`,
      ]);
      const comments = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: agent });
      expect(comments.json.messages.map((m: any) => m.content)).toEqual([`Comment ${t.own}`]);
      const dms = await api(`/api/v1/accounts/${account}/topics/cv1/messages`, { token: agent });
      expect(dms.json.messages.map((m: any) => m.content)).toEqual([`DM ${t.own}`]);
      expect(JSON.stringify([topics.json, comments.json, dms.json])).not.toContain(t.other);
    }
  });

  it("each tenant's AccountRoom socket serves only its own topics", { timeout: SLOW }, async () => {
    const { account, tenants } = shared;
    for (const t of tenants) {
      const call = await open(`/api/v1/accounts/${account}/ws`, await token("agent", { tenant: t.tenant }));
      const answer = await call.socket!.request("monitor:request_topics", {}, "monitor:topics");
      expect(answer.payload.topics.map((x: any) => x.title).sort()).toEqual([
        `Buyer ${t.own}`,
        `Only ${t.own}`,
        `Video ${t.own}`,
      ]);
    }
  });

  it("each tenant's compatibility lists are only its own", { timeout: SLOW }, async () => {
    const { account, tenants } = shared;
    for (const t of tenants) {
      const agent = await token("agent", { tenant: t.tenant });
      const lists = {
        conversations: await api(`/api/im/conversations?account_id=${account}`, { token: agent }),
        messages: await api(`/api/im/messages?account_id=${account}&conversation_id=cv1`, { token: agent }),
        discussions: await api(`/api/im/discussions?account_id=${account}`, { token: agent }),
        contents: await api(`/api/im/contents?account_id=${account}`, { token: agent }),
        unified: await api(`/api/im/unified-messages?account_id=${account}`, { token: agent }),
      };
      expect(lists.conversations.json.data.conversations.map((c: any) => c.user.nickname)).toEqual([`Buyer ${t.own}`]);
      expect(lists.messages.json.data.messages.map((m: any) => m.content)).toEqual([`DM ${t.own}`]);
      expect(lists.discussions.json.data.discussions.map((d: any) => d.text)).toEqual([`Comment ${t.own}`]);
      expect(lists.contents.json.data.contents.map((c: any) => c.desc).sort()).toEqual([
        `Only ${t.own}`,
        `Video ${t.own}`,
      ]);
      expect(lists.unified.json.data.messages.map((m: any) => m.id).sort()).toEqual([`c-${t.own}`, `m-${t.own}`]);
      expect(JSON.stringify(Object.values(lists).map((l) => l.json))).not.toContain(t.other);
    }
  });

  it("an admin's rename in one tenant leaves the other tenant's channel as it was", { timeout: SLOW }, async () => {
    const { account, tenants } = await twoTenants();
    const [a, b] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const patch = await api(`/api/v1/accounts/${account}`, {
      method: "PATCH",
      token: await token("admin", { tenant: a.tenant }),
      body: { name: "Renamed in A" },
    });
    expect(patch.status).toBe(200);
    const list = await api("/api/v1/accounts", { token: await token("agent", { tenant: b.tenant }) });
    expect(list.json.channels.map((c: any) => c.name)).toEqual(["Brand BBB"]);
  });
});

describe("the accounts claim", () => {
  async function tenantWithTwoAccounts() {
    const tenant = uid("tenant");
    const visible = uid("acc-visible");
    const hidden = uid("acc-hidden");
    await push(
      hidden,
      { comments: [comment("c1", "w1", { content: "hidden text" })] },
      { tenant, account: { name: "Hidden brand" } },
    );
    await push(
      visible,
      { comments: [comment("c1", "w1", { content: "visible text" })] },
      { tenant, account: { name: "Visible brand" } },
    );
    return { tenant, visible, hidden };
  }

  // Read by the first two tests; the live update pushes, so it sets up its own.
  let shared: Awaited<ReturnType<typeof tenantWithTwoAccounts>>;
  beforeAll(async () => {
    shared = await tenantWithTwoAccounts();
  }, SLOW);

  it("a claim of more than 200 accounts is refused 401 naming the claim", async () => {
    const accounts = Array.from({ length: 201 }, (_, i) => `acc-${i}`);
    const res = await api("/api/v1/accounts", { token: await token("agent", { accounts }) });
    expect(res.status).toBe(401);
    expect(res.json.error).toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(/^token claim accounts:/),
    });
    const ok = await api("/api/v1/accounts", { token: await token("agent", { accounts: accounts.slice(0, 200) }) });
    expect(ok.status).toBe(200);
  });

  it("filters the channel list to the claimed accounts", async () => {
    const { tenant, visible, hidden } = shared;
    const all = await api("/api/v1/accounts", { token: await token("agent", { tenant }) });
    expect(all.json.channels.map((c: any) => c.id).sort()).toEqual([hidden, visible].sort());
    const scoped = await api("/api/v1/accounts", { token: await token("agent", { tenant, accounts: [visible] }) });
    expect(scoped.json.channels.map((c: any) => c.id)).toEqual([visible]);
    expect(JSON.stringify(scoped.json)).not.toContain("Hidden brand");
  });

  it("filters the Directory socket's channel list to the claimed accounts", async () => {
    const { tenant, visible } = shared;
    const call = await open("/api/v1/ws", await token("agent", { tenant, accounts: [visible] }));
    const channels = await channelsOnSocket(call.socket!);
    expect(channels.map((c: any) => c.id)).toEqual([visible]);
  });

  it("sends the Directory socket no live update of an account outside the claim", { timeout: SLOW }, async () => {
    const { tenant, visible, hidden } = await tenantWithTwoAccounts();
    const call = await open("/api/v1/ws", await token("agent", { tenant, accounts: [visible] }));
    const socket = call.socket!;
    await channelsOnSocket(socket);
    await push(hidden, { comments: [comment("c2", "w1", { content: "more hidden text" })] }, { tenant });
    await push(visible, { comments: [comment("c2", "w1", { content: "more visible text" })] }, { tenant });
    await socket.until(
      (frames) => frames.some((f) => f.type === "channel:updated" && f.payload.channel.id === visible),
      "visible update",
    );
    const updated = socket.frames.filter((f) => f.type === "channel:updated").map((f) => f.payload.channel.id);
    expect(updated).not.toContain(hidden);
    expect(socket.raw.join("\n")).not.toContain("hidden");
  });
});
