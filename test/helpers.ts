/** Shared helpers for the tests that run inside workerd. */
import { exports } from "cloudflare:workers";
import { DEV_AUTH_SECRET, signToken } from "../src/auth";
import type { Role } from "../src/auth";
import { EVENT_TYPES } from "../src/contract/schemas";
import type { ServerFrame } from "../src/contract/schemas";

/** A fresh id per test: storage is shared by the tests of one file. */
export const uid = (prefix: string): string => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export type TokenOptions = { tenant?: string; sub?: string; accounts?: string[]; ttl?: number; secret?: string };

export function token(
  role: Role,
  { tenant = "t1", sub = `${role}-1`, accounts, ttl = 3600, secret = DEV_AUTH_SECRET }: TokenOptions = {},
) {
  const exp = Math.floor(Date.now() / 1000) + ttl;
  return signToken({ sub, tid: tenant, role, exp, ...(accounts ? { accounts } : {}) }, secret);
}

export type ApiOptions = { method?: string; token?: string; body?: unknown; headers?: Record<string, string> };

export async function api(path: string, { method = "GET", token, body, headers = {} }: ApiOptions = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (token) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const response = await exports.default.fetch(`http://edge.test${path}`, init);
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

export type Snapshot = {
  contents?: unknown[];
  comments?: unknown[];
  conversations?: unknown[];
  messages?: unknown[];
  notifications?: unknown[];
};

export type PushOptions = { tenant?: string; timestamp?: number; account?: Record<string, unknown>; platform?: string };

/** Pushes a snapshot as the tenant's crawler. */
export async function push(
  accountId: string,
  snapshot: Snapshot,
  { tenant = "t1", timestamp = Date.now(), account, platform = "douyin" }: PushOptions = {},
) {
  return api(`/api/v1/accounts/${accountId}/sync`, {
    method: "POST",
    token: await token("crawler", { tenant }),
    body: { type: "worker:data:sync", accountId, platform, timestamp, account, snapshot },
  });
}

let clock = 1_730_000_000;
/** Seconds, increasing across calls, so items sort in the order a test creates them. */
export const nextTime = (): number => ++clock;

export const work = (id: string, extra: Record<string, unknown> = {}) => ({
  work_id: id,
  title: `Work ${id}`,
  cover: `https://cdn.example/${id}.jpg`,
  publish_time: 1_729_990_000,
  stats: { comment_count: 0, like_count: 0 },
  ...extra,
});

export const comment = (id: string, workId: string, extra: Record<string, unknown> = {}) => ({
  comment_id: id,
  work_id: workId,
  content: `comment ${id}`,
  author_id: `u-${id}`,
  author_name: `Fan ${id}`,
  create_time: nextTime(),
  parent_comment_id: null,
  like_count: 0,
  ...extra,
});

export const conversation = (id: string, extra: Record<string, unknown> = {}) => ({
  conversation_id: id,
  participant: { user_id: `p-${id}`, user_name: `Buyer ${id}`, avatar: `https://cdn.example/${id}.png` },
  unread_count: 1,
  update_time: 1_729_999_500,
  ...extra,
});

export const dm = (id: string, conversationId: string, extra: Record<string, unknown> = {}) => ({
  msg_id: id,
  conversation_id: conversationId,
  content: `dm ${id}`,
  msg_type: "text",
  sender: { user_id: `p-${conversationId}`, user_name: `Buyer ${conversationId}` },
  direction: "in",
  create_time: nextTime(),
  ...extra,
});

export type Frame = ServerFrame & { id?: string; payload: any };

/** A client socket that records every frame, with `batch` frames unpacked in order. */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      this.raw.push(text);
      const frame = JSON.parse(text) as Frame;
      if (frame.type === "batch") this.frames.push(...frame.payload.frames);
      else this.frames.push(frame);
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
    ws.accept();
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /**
   * Waits until `predicate` holds over the recorded frames. `timeout` is a ceiling only a real
   * failure reaches: a busy 2-core machine can take seconds to answer what takes milliseconds
   * alone (2 s was once the default, and failed there).
   */
  async until(predicate: (frames: Frame[]) => boolean, what = "frames", timeout = 15_000): Promise<Frame[]> {
    const deadline = Date.now() + timeout;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames;
  }

  /** The first recorded frame of `type` (optionally with request `id`), waiting for it. */
  async next(type: string, id?: string): Promise<Frame> {
    const match = (f: Frame) => f.type === type && (id === undefined || f.id === id);
    await this.until((frames) => frames.some(match), type);
    return this.frames.find(match)!;
  }

  /** Sends a request and waits for the answer of `answerType` carrying the same id. */
  async request(type: string, payload: unknown, answerType: string): Promise<Frame> {
    const id = crypto.randomUUID();
    this.send({ type, id, payload });
    const match = (f: Frame) => f.id === id && (f.type === answerType || f.type === "error");
    await this.until((frames) => frames.some(match), `${answerType} for ${type}`);
    return this.frames.find(match)!;
  }

  /** Lets in-flight frames arrive, for asserting that nothing (more) came. */
  async settle(ms = 100) {
    await new Promise((r) => setTimeout(r, ms));
  }

  /** The recorded event frames (those that carry an account `seq`), optionally of one type. */
  events(type?: string): Frame[] {
    return this.frames.filter((f) => EVENT_TYPES.has(f.type) && (type === undefined || f.type === type));
  }

  close() {
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

/** Opens a WebSocket through the Worker; resolves to the socket, or to the refusal status. */
export async function connect(
  path: string,
): Promise<{ status: number; socket?: TestSocket; json?: any; retryAfter?: string | null }> {
  const response = await exports.default.fetch(`http://edge.test${path}`, { headers: { Upgrade: "websocket" } });
  if (response.status !== 101 || !response.webSocket) {
    const json = await response.json().catch(() => null);
    return { status: response.status, json, retryAfter: response.headers.get("retry-after") };
  }
  return { status: 101, socket: new TestSocket(response.webSocket) };
}

/** Opens an agent's socket on an account room (the account must exist). */
export async function roomSocket(accountId: string, { tenant = "t1", role = "agent" as Role, query = "" } = {}) {
  const result = await connect(`/api/v1/accounts/${accountId}/ws?token=${await token(role, { tenant })}${query}`);
  if (!result.socket) throw new Error(`socket refused with ${result.status}: ${JSON.stringify(result.json)}`);
  return result.socket;
}

/** A fresh account (a random id) that exists: one comment pushed to it. */
export async function newAccount(): Promise<string> {
  const id = uid("acc");
  await push(id, { comments: [comment("c1", "w1")] });
  return id;
}

/** Registers `socket` as a crm-pc-im monitor client; resolves to `monitor:registered`. */
export async function registerMonitor(socket: TestSocket, clientId: string) {
  return socket.request("monitor:register", { clientId, clientType: "monitor" }, "monitor:registered");
}
