/**
 * The simulated crawler against the real backend (`wrangler dev`): it reports its health in
 * every push, carries out agents' replies (each fails once here, then succeeds on the retry)
 * so that its next snapshots carry them under the platform id it reported without a
 * duplicate, and answers an admin's login with a real PNG QR code, `scanned` and `success`;
 * stopped, its channel goes `late` then `offline`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../src/auth";
import type { Channel, Message, Topic } from "../../src/contract/schemas";
import { parseCrawlerArgs, runCrawler } from "../../scripts/crawler";
import { mintToken, startDev } from "../../scripts/backend";
import type { Wrangler } from "../../scripts/backend";

const SECRET = `crawler-commands-${process.pid}`;
const TENANT = "sim-commands";
const ACCOUNT = "douyin-1001";

let dir: string;
let dev: Wrangler;
const controller = new AbortController();
let crawling: Promise<boolean>;
let pushes = 0;
const lines: string[] = [];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${lines.slice(-20).join("\n")}`);
    await sleep(100);
  }
}

const token = (role: Role) => mintToken(role, { tenant: TENANT, sub: `${role}-1`, secret: SECRET });

async function get<T>(path: string, role: Role = "agent"): Promise<T> {
  const res = await fetch(`${dev.url}${path}`, { headers: { authorization: `Bearer ${await token(role)}` } });
  return (await res.json()) as T;
}

async function post(path: string, body: unknown, role: Role = "agent"): Promise<Response> {
  return fetch(`${dev.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token(role)}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const topicMessages = async (topicId: string) =>
  (await get<{ messages: Message[] }>(`/api/v1/accounts/${ACCOUNT}/topics/${topicId}/messages?limit=200`)).messages;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crawler-commands-"));
  dev = await startDev({ dir, vars: { AUTH_SECRET: SECRET }, readyTimeoutMs: 120_000 });
  const options = { ...parseCrawlerArgs(["--accounts", ACCOUNT, "--interval", "1", "--tenant", TENANT]), url: dev.url };
  crawling = runCrawler(options, {
    secret: SECRET,
    signal: controller.signal,
    log: (line) => lines.push(line),
    onPush: () => pushes++,
    commands: { failRate: 1, minDelayMs: 50, maxDelayMs: 150, loginStepMs: 300 },
  });
}, 180_000);

afterAll(async () => {
  controller.abort();
  await crawling;
  await dev?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("the simulated crawler", () => {
  it("reports its interval and login in every push", async () => {
    const channel = await until(async () => {
      const { channels } = await get<{ channels: Channel[] }>("/api/v1/accounts");
      return channels.find((c) => c.id === ACCOUNT);
    }, "the channel");
    expect(channel.health).toMatchObject({ crawler: "online", intervalMs: 1_000, login: "logged_in" });
  }, 60_000);

  it("carries out a comment reply and a DM reply: failed once, then sent, then in its snapshots once", async () => {
    const { topics } = await until(async () => {
      const answer = await get<{ topics: Topic[] }>(`/api/v1/accounts/${ACCOUNT}/topics`);
      const kinds = new Set(answer.topics.map((t) => t.kind));
      return kinds.has("work") && kinds.has("conversation") && answer;
    }, "a work and a conversation");
    const watcher = new WebSocket(
      `${dev.url.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws?token=${await token("agent")}`,
    );
    const statuses: { messageId: string; status: string; error?: string }[] = [];
    watcher.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; payload: any };
      const frames = frame.type === "batch" ? frame.payload.frames : [frame];
      for (const f of frames) if (f.type === "message:status") statuses.push(f.payload);
    });
    await new Promise((resolve) => watcher.once("open", resolve));

    const replies: Message[] = [];
    for (const kind of ["work", "conversation"] as const) {
      const topic = topics.find((t) => t.kind === kind)!;
      const res = await post(`/api/v1/accounts/${ACCOUNT}/topics/${topic.id}/replies`, {
        content: `thanks from the team (${kind})`,
        clientMsgId: `reply-${kind}`,
      });
      expect(res.status).toBe(201);
      replies.push(((await res.json()) as { message: Message }).message);
    }
    for (const reply of replies) {
      await until(
        async () => (await topicMessages(reply.topicId)).find((m) => m.id === reply.id)?.status === "sent",
        "sent",
      );
      // The failure path was visible first: pending again with the platform's error.
      expect(statuses.filter((s) => s.messageId === reply.id).map((s) => s.status)).toEqual(["pending", "sent"]);
      expect(statuses.find((s) => s.messageId === reply.id)!.error).toMatch(/captcha/);
    }
    // Two more snapshots carry the posted replies; each lands on the agent's message.
    const after = pushes;
    await until(async () => pushes >= after + 2, "two more pushes");
    for (const reply of replies) {
      const same = (await topicMessages(reply.topicId)).filter((m) => m.content === reply.content);
      expect(same.map((m) => [m.id, m.kind, m.status])).toEqual([[reply.id, "reply", "sent"]]);
    }
    watcher.close();
  }, 90_000);

  it("answers an admin's login with a real PNG QR code, then scanned and success", async () => {
    const admin = new WebSocket(
      `${dev.url.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws?token=${await token("admin")}`,
    );
    const frames: { type: string; payload: any }[] = [];
    admin.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; payload: any };
      frames.push(...(frame.type === "batch" ? frame.payload.frames : [frame]));
    });
    await new Promise((resolve) => admin.once("open", resolve));
    expect((await post(`/api/v1/accounts/${ACCOUNT}/login`, {}, "admin")).status).toBe(202);
    await until(
      async () => frames.some((f) => f.type === "account:login:status" && f.payload.status === "success"),
      "login success",
    );
    const qrcode = frames.find((f) => f.type === "account:qrcode")!;
    expect(qrcode.payload.image).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(qrcode.payload.image.split(",")[1], "base64");
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(200);
    expect(frames.filter((f) => f.type === "account:login:status").map((f) => f.payload.status)).toEqual([
      "pending",
      "scanned",
      "success",
    ]);
    admin.close();
  }, 60_000);

  it("once stopped, its channel turns late then offline on the Directory, announced by the room's alarm", async () => {
    const directory = new WebSocket(`${dev.url.replace("http", "ws")}/api/v1/ws?token=${await token("agent")}`);
    const states: string[] = [];
    directory.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; payload: { channel?: Channel } };
      if (frame.type === "channel:updated" && frame.payload.channel?.id === ACCOUNT) {
        states.push(frame.payload.channel.health.crawler);
      }
    });
    await new Promise((resolve) => directory.once("open", resolve));
    controller.abort();
    expect(await crawling).toBe(true);
    // Interval 1 s: late 2 s after the last push, offline after 5 s.
    await until(async () => states.includes("offline"), "offline", 30_000);
    expect(states.slice(states.indexOf("late"))).toEqual(["late", "offline"]);
    const { channels } = await get<{ channels: Channel[] }>("/api/v1/accounts");
    expect(channels.find((c) => c.id === ACCOUNT)!.health).toMatchObject({ crawler: "offline", login: "logged_in" });
    directory.close();
  }, 60_000);
});
