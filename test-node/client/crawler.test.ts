/**
 * The crawler client (client/crawler.ts) against the real backend in `wrangler dev`, with
 * small limits: pushes through network errors, 502/503/504 and 429 with Retry-After, a
 * snapshot split over the push limit, and the command loop across a SIGKILL and restart of
 * the backend on the same state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCrawlerClient } from "../../client/crawler";
import type { CrawlerClientOptions } from "../../client/crawler";
import type { Role } from "../../src/auth";
import type { Command, Message } from "../../src/contract/schemas";
import { freePort, mintToken, startDev } from "../../scripts/backend";
import type { Wrangler } from "../../scripts/backend";

const SECRET = `crawler-client-${process.pid}`;
const TENANT = "crawler-client";
const PUSHES_PER_MINUTE = 6;
const MAX_PUSH_BYTES = 32 * 1024;

let dir: string;
let dev: Wrangler;
let port: number;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const token = (role: Role, sub = `${role}-1`) => mintToken(role, { tenant: TENANT, sub, secret: SECRET });

function start(): Promise<Wrangler> {
  return startDev({
    dir,
    port,
    readyTimeoutMs: 120_000,
    vars: { AUTH_SECRET: SECRET, PUSHES_PER_MINUTE: String(PUSHES_PER_MINUTE), MAX_PUSH_BYTES: String(MAX_PUSH_BYTES) },
  });
}

/** A crawler client with its own token (the push limit is per token and account) and quick retries. */
async function client(sub: string, extra: Partial<CrawlerClientOptions> = {}) {
  return createCrawlerClient({
    url: dev.url,
    token: await token("crawler", sub),
    minDelayMs: 100,
    maxDelayMs: 1_000,
    maxAttempts: 200,
    reconnect: { minDelay: 200, maxDelay: 1_000 },
    WebSocket,
    ...extra,
  });
}

const comment = (id: string, extra: Record<string, unknown> = {}) => ({
  comment_id: id,
  work_id: "w1",
  content: `comment ${id}`,
  create_time: 1_730_000_000,
  ...extra,
});

async function messages(account: string, topic = "w1"): Promise<Message[]> {
  const res = await fetch(`${dev.url}/api/v1/accounts/${account}/topics/${topic}/messages?limit=200`, {
    headers: { authorization: `Bearer ${await token("agent")}` },
  });
  return ((await res.json()) as { messages: Message[] }).messages;
}

async function reply(account: string, content: string): Promise<Message> {
  const res = await fetch(`${dev.url}/api/v1/accounts/${account}/topics/w1/replies`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token("agent")}`, "content-type": "application/json" },
    body: JSON.stringify({ content, clientMsgId: `k-${content}` }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { message: Message }).message;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crawler-client-"));
  port = await freePort();
  dev = await start();
}, 180_000);

afterAll(async () => {
  await dev?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("push", () => {
  it("goes through network errors and 502/503/504, sending the same snapshot once stored", async () => {
    const failures = ["network", 503, "network", 502, 504];
    const seen: (string | number)[] = [];
    const flaky: typeof fetch = async (input, init) => {
      const failure = failures.shift();
      if (failure === "network") {
        seen.push("network");
        throw new TypeError("fetch failed");
      }
      if (failure) {
        seen.push(failure);
        return new Response("upstream down", { status: failure as number });
      }
      const response = await fetch(input, init);
      seen.push(response.status);
      return response;
    };
    const crawler = await client("flaky", { fetch: flaky });
    const answer = await crawler.push({
      accountId: "acc-flaky",
      platform: "douyin",
      snapshot: { comments: [comment("c1")] },
    });
    expect(seen).toEqual(["network", 503, "network", 502, 504, 200]);
    expect(answer.counts.comments).toEqual({ received: 1, new: 1, updated: 0 });
    expect((await messages("acc-flaky")).map((m) => m.id)).toEqual(["c1"]);
  }, 60_000);

  it("a 429 waits as long as Retry-After says, then the push goes through", async () => {
    const crawler = await client("busy");
    for (let i = 0; i < PUSHES_PER_MINUTE; i++) {
      await crawler.push({ accountId: "acc-busy", snapshot: { comments: [comment(`c${i}`)] } });
    }
    const statuses: { status: number; retryAfter: string | null; at: number }[] = [];
    const watching: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push({ status: response.status, retryAfter: response.headers.get("retry-after"), at: Date.now() });
      return response;
    };
    const limited = await client("busy", { fetch: watching });
    const answer = await limited.push({ accountId: "acc-busy", snapshot: { comments: [comment("late")] } });
    expect(answer.counts.comments!.new).toBe(1);
    expect(statuses[0]!.status).toBe(429);
    const retryAfter = Number(statuses[0]!.retryAfter);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(statuses.at(-1)!.status).toBe(200);
    // It did not hammer the backend: the next try came after the wait it was told.
    expect(statuses[1]!.at - statuses[0]!.at).toBeGreaterThanOrEqual(retryAfter * 1000 - 50);
  }, 60_000);

  it("splits a snapshot over the push limit into valid pushes, rejected items keeping their index", async () => {
    const crawler = await client("big");
    const comments = Array.from({ length: 120 }, (_, i) =>
      comment(`b${i}`, { content: `${"长评论".repeat(60)} ${i}` }),
    );
    comments[100] = { comment_id: "bad", content: "no work" } as never;
    const answer = await crawler.push({
      accountId: "acc-big",
      platform: "douyin",
      snapshot: { contents: [{ work_id: "w1", title: "A big work" }], comments },
    });
    expect(answer.counts.comments).toEqual({ received: 120, new: 119, updated: 0 });
    expect(answer.rejected).toEqual([
      { kind: "comments", index: 100, issues: [{ path: "work_id", message: expect.any(String) }] },
    ]);
    expect(await messages("acc-big")).toHaveLength(119);
  }, 120_000);

  it("a snapshot cut up front by maxPushBytes gives the same answer", async () => {
    const requests: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      requests.push(String(init?.body ?? "").length);
      return fetch(input, init);
    };
    const cut = await client("cut", { maxPushBytes: 8 * 1024, fetch: counting });
    const comments = Array.from({ length: 40 }, (_, i) => comment(`s${i}`, { content: "x".repeat(500) }));
    const answer = await cut.push({ accountId: "acc-cut", snapshot: { comments } });
    expect(answer.counts.comments).toEqual({ received: 40, new: 40, updated: 0 });
    expect(requests.length).toBeGreaterThan(1);
    for (const size of requests) expect(size).toBeLessThanOrEqual(8 * 1024);
  }, 60_000);
});

describe("commands", () => {
  it("each command runs once per attempt and is reported once, across a backend SIGKILL and restart", async () => {
    const account = "acc-commands";
    const crawler = await client("commands");
    await crawler.push({ accountId: account, snapshot: { comments: [comment("c1")] } });
    // A reply waiting before the crawler listens arrives on connect.
    const early = await reply(account, "early");

    const calls: Command[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const loop = crawler.listen(account, async (command) => {
      calls.push(command);
      if (command.content === "held") await held;
      if (command.content === "flaky" && command.attempts === 0) return { status: "failed", error: "captcha" };
      return { status: "sent", platformMessageId: `p-${command.id}` };
    });
    await until(async () => (await messages(account)).find((m) => m.id === early.id)?.status === "sent", "early sent");

    // Failed once, carried out again on its second attempt.
    const flaky = await reply(account, "flaky");
    await until(async () => (await messages(account)).find((m) => m.id === flaky.id)?.status === "sent", "flaky sent");
    expect(calls.filter((c) => c.content === "flaky").map((c) => c.attempts)).toEqual([0, 1]);

    // A command whose handler is still running when the backend dies: on reconnect it comes
    // again (on connect and in the listing), and still runs once.
    const heldReply = await reply(account, "held");
    await until(() => calls.some((c) => c.content === "held"), "held handler started");
    await dev.kill();
    dev = await start();
    await until(() => loop.state === "open", "loop reconnected", 60_000);
    await sleep(1_000);
    release();
    await until(
      async () => (await messages(account)).find((m) => m.id === heldReply.id)?.status === "sent",
      "held sent",
      60_000,
    );
    // One created after the restart arrives live on the new connection.
    const after = await reply(account, "after");
    await until(async () => (await messages(account)).find((m) => m.id === after.id)?.status === "sent", "after sent");
    await loop.stop();

    const byContent = (content: string) => calls.filter((c) => c.content === content).length;
    expect([byContent("early"), byContent("held"), byContent("after")]).toEqual([1, 1, 1]);
    const sent = (await messages(account)).filter((m) => m.kind === "reply");
    expect(sent.map((m) => [m.content, m.status])).toEqual([
      ["early", "sent"],
      ["flaky", "sent"],
      ["held", "sent"],
      ["after", "sent"],
    ]);
  }, 240_000);

  it("a push during a backend restart waits for it and lands once", async () => {
    const crawler = await client("restart");
    await crawler.push({ accountId: "acc-restart", snapshot: { comments: [comment("r1")] } });
    await dev.kill();
    const pushing = crawler.push({ accountId: "acc-restart", snapshot: { comments: [comment("r1"), comment("r2")] } });
    await sleep(1_000);
    dev = await start();
    const answer = await pushing;
    expect(answer.counts.comments).toEqual({ received: 2, new: 1, updated: 0 });
    expect((await messages("acc-restart")).map((m) => m.id)).toEqual(["r1", "r2"]);
  }, 240_000);

  it("login and health reports reach the account", async () => {
    const crawler = await client("login");
    const health = await crawler.reportHealth("acc-login", { intervalMs: 5_000, login: "logged_out" });
    expect(health).toMatchObject({ crawler: "online", login: "logged_out", intervalMs: 5_000 });
    const login = await fetch(`${dev.url}/api/v1/accounts/acc-login/login`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token("admin")}` },
    });
    expect(login.status).toBe(202);
    expect(
      await crawler.reportQrcode("acc-login", "data:image/png;base64,iVBORw0KGgo=", Date.now() + 60_000),
    ).toBeGreaterThan(0);
    await crawler.reportLoginStatus("acc-login", "scanned");
    await crawler.reportLoginStatus("acc-login", "success");
    const channels = await fetch(`${dev.url}/api/v1/accounts`, {
      headers: { authorization: `Bearer ${await token("agent")}` },
    });
    const { channels: list } = (await channels.json()) as { channels: { id: string; health: { login: string } }[] };
    expect(list.find((c) => c.id === "acc-login")!.health.login).toBe("logged_in");
    await expect(crawler.reportLoginStatus("acc-login", "bogus" as never)).rejects.toMatchObject({
      code: "invalid_body",
      status: 400,
    });
  }, 60_000);
});
