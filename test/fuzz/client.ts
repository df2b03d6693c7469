/**
 * Requests and sockets for the fuzz tests, sent to the Worker's Hono app directly.
 */
import { expect } from "vitest";
import { env } from "cloudflare:workers";
import app from "../../src/index";
import { TestSocket, token } from "../helpers";
import type { Frame, Snapshot } from "../helpers";
import type { Json, Obj } from "./expect";

/** Pushes rotate over a few crawler tokens: the push rate limit is per token, and a property pushes more than 600 a minute. */
const CRAWLERS = 4;
let tokens: Promise<{ agent: string; crawlers: string[] }> | undefined;
let crawlerTurn = 0;

async function mintTokens(): Promise<{ agent: string; crawlers: string[] }> {
  const agent = await token("agent");
  const crawlers: string[] = [];
  for (let i = 0; i < CRAWLERS; i++) crawlers.push(await token("crawler", { sub: `fuzz-crawler-${i}` }));
  return { agent, crawlers };
}

/** Minted on first use, so every test has them whichever tests run before it. */
const fuzzTokens = () => (tokens ??= mintTokens());

/**
 * Requests go to the Worker's Hono app directly, with the test's bindings. Through
 * `exports.default.fetch` every call gets slower the more calls a test file has made
 * (about 0.3 ms more per call made before), which thousands of generated requests can't afford.
 */
const executionCtx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function call(
  path: string,
  { method = "GET", bearer, body }: { method?: string; bearer?: string; body?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.fetch(
    new Request(`http://edge.test${path}`, { method, headers, body }),
    env,
    executionCtx,
  );
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** A push body as sent, by the next crawler token in turn. */
export async function postSync(accountId: string, body: string) {
  const { crawlers } = await fuzzTokens();
  const crawler = crawlers[crawlerTurn++ % crawlers.length]!;
  return call(`/api/v1/accounts/${accountId}/sync`, { method: "POST", bearer: crawler, body });
}

/** A GET as the agent. */
export const get = async (path: string) => call(path, { bearer: (await fuzzTokens()).agent });

/** An agent's socket on an account room, opened through the app as well. */
export async function openSocket(accountId: string, sub = "agent-1"): Promise<TestSocket> {
  const bearer = sub === "agent-1" ? (await fuzzTokens()).agent : await token("agent", { sub });
  const response = await app.fetch(
    new Request(`http://edge.test/api/v1/accounts/${accountId}/ws?token=${bearer}`, {
      headers: { Upgrade: "websocket" },
    }),
    env,
    executionCtx,
  );
  if (response.status !== 101 || !response.webSocket)
    throw new Error(`socket refused with ${response.status}: ${await response.text()}`);
  return new TestSocket(response.webSocket);
}

/** The messages of a topic, over HTTP. */
export function messagesPath(accountId: string, topicId: string, query = "limit=200") {
  return `/api/v1/accounts/${accountId}/topics/${encodeURIComponent(topicId)}/messages?${query}`;
}

/** A snapshot with a well-formed envelope. */
export function pushSnapshot(accountId: string, snapshot: Snapshot, extra: Obj = {}) {
  return postSync(
    accountId,
    JSON.stringify({
      type: "worker:data:sync",
      accountId,
      platform: "douyin",
      timestamp: Date.now(),
      snapshot,
      ...extra,
    }),
  );
}

/** Every message of a topic, oldest first, over HTTP. */
export async function topicMessages(accountId: string, topicId: string): Promise<Json[]> {
  const page = await get(messagesPath(accountId, topicId));
  if (page.status !== 200)
    throw new Error(`GET messages of ${JSON.stringify(topicId)} answered ${page.status}: ${JSON.stringify(page.json)}`);
  expect(page.json.hasMore).toBe(false);
  return page.json.messages;
}

/** The account's seq as the channel list shows it. */
export async function channelSeq(accountId: string): Promise<number> {
  const res = await get("/api/v1/accounts");
  expect(res.status).toBe(200);
  return res.json.channels.find((c: Json) => c.id === accountId)?.seq ?? 0;
}

/** `sync:start {since: 0}` on a fresh socket: every event in order, and the final `sync:complete`. */
export async function replayAll(accountId: string): Promise<{ events: Frame[]; complete: Frame }> {
  const socket = await openSocket(accountId);
  socket.send({ type: "sync:start", id: "replay", payload: { since: 0 } });
  await socket.until((f) => f.length > 0 && f[f.length - 1]!.type === "sync:complete", "sync:complete", 60_000);
  socket.close();
  const frames = socket.frames;
  expect(frames.filter((f) => f.type === "sync:reset")).toEqual([]);
  return {
    events: frames.filter((f) => f.type !== "sync:progress" && f.type !== "sync:complete"),
    complete: frames[frames.length - 1]!,
  };
}

let nonceCounter = 0;
/** A fresh number per property execution (shrinking included), so ids never repeat. */
export const nextNonce = () => ++nonceCounter;
