/**
 * The crawler's side of the backend (PROTOCOL §4, §7, §10) for crawler authors: snapshot
 * pushes that survive a flaky network and a busy backend, the command loop that carries out
 * agents' replies and admins' logins exactly once per attempt, and the login and health
 * reports. See docs/CRAWLER.md.
 *
 * It depends on nothing the project does not already ship (partysocket for the socket); the
 * wire types come from the backend's zod schemas, as types only.
 */
import type { z } from "zod";
import type { loginStatusBody, resultBody } from "../src/contract/schemas";
import type { Command, Health } from "../src/contract/wire";
import type { crawlerReport, PushResponse } from "../src/contract/snapshot";
import { halve, itemCount, mergeAnswers, splitPart, wholePart } from "./crawler-split";
import type { Part, PushBody } from "./crawler-split";
import { errorInBody } from "./requests";
import { FrameSocket } from "./socket";
import type { ConnectionState, ReconnectOptions } from "./types";
import { accountUrl, toSocketBase } from "./urls";

export type { PushBody } from "./crawler-split";
export type { Command, Health } from "../src/contract/wire";
export type { PushResponse } from "../src/contract/snapshot";

/** What a crawler says about itself, in a push (`crawler`) or by `reportHealth`. */
export type CrawlerReport = z.input<typeof crawlerReport>;
/** A crawler's report on a command: `sent` (with the platform's id of what it posted) or `failed`. */
export type CommandResult = z.input<typeof resultBody>;
export type LoginReport = Exclude<z.input<typeof loginStatusBody>["status"], "pending">;

/**
 * Carries out one command on the platform. For a reply, return `{status: "sent", platformMessageId}`
 * or `{status: "failed", error}` (throwing counts as failed); it is reported for you, once. For a
 * login, drive it with `reportQrcode` / `reportLoginStatus` and return nothing.
 */
export type CommandHandler = (command: Command, accountId: string) => Promise<CommandResult | void>;

export type CrawlerClientOptions = {
  /** The backend, `https://…` (or `http://` locally). */
  url: string;
  /** A `crawler` token, or a function returning a fresh one for each request and connection. */
  token: string | (() => string | Promise<string>);
  /** Largest push body to send, in bytes; a bigger snapshot is split. Default 4 MiB (the backend's default and most). */
  maxPushBytes?: number;
  /** Attempts per request on network errors and 502/503/504. Default 8. */
  maxAttempts?: number;
  /** Times a request waits out a 429 (as long as its `Retry-After` says). Default 30. */
  maxRateLimitWaits?: number;
  /** Backoff between attempts: from `minDelayMs`, doubling, at most `maxDelayMs`, with jitter. Defaults 500 and 30,000. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** When the command socket tries again (docs/CLIENT.md, "Reconnects"). */
  reconnect?: ReconnectOptions;
  /** Heartbeat on the command socket, ms; a socket silent for 2.5 of them is replaced. Default 25,000; 0 for none. */
  heartbeatMs?: number;
  /** Things that went wrong outside any call of yours: a handler's report that failed for good, a socket error frame. */
  onError?: (error: Error) => void;
  /** For tests and other runtimes. */
  fetch?: typeof fetch;
  WebSocket?: unknown;
};

/** A request the backend refused (its PROTOCOL §3 error), or one that never got an answer (`code: "network"`). */
export class CrawlerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly issues?: { path: string; message: string }[],
    /** What the backend (or whatever answered instead) said, without the request in front. */
    readonly detail = message,
  ) {
    super(message);
    this.name = "CrawlerError";
  }
}

/** The backend's push limit (DEFAULT_MAX_PUSH_BYTES in src/config.ts, which the client does not bundle). */
const DEFAULT_MAX_PUSH_BYTES = 4 * 1024 * 1024;
const RETRIED_STATUSES = new Set([502, 503, 504]);
/** Commands remembered as handled; far more than a room ever has pending at once. */
const SEEN_LIMIT = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const crawler = createCrawlerClient({ url: "https://edge.example.com", token: CRAWLER_TOKEN });
 * await crawler.push({ accountId: "douyin-1001", platform: "douyin", crawler: { intervalMs: 60_000 }, snapshot });
 * crawler.listen("douyin-1001", async (command) => ({ status: "sent", platformMessageId: await post(command) }));
 */
export function createCrawlerClient(options: CrawlerClientOptions): CrawlerClient {
  return new CrawlerClient(options);
}

export class CrawlerClient {
  readonly #options: CrawlerClientOptions;
  readonly #base: string;
  readonly #fetch: typeof fetch;

  constructor(options: CrawlerClientOptions) {
    this.#options = options;
    this.#base = options.url.trim().replace(/\/+$/, "");
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Pushes a snapshot (PROTOCOL §4), retrying the same body on network errors, 502/503/504
   * and 429 (pushes are idempotent). A snapshot over `maxPushBytes`, or one the backend
   * refuses as too large, goes as several pushes, each valid and atomic by itself; the answer
   * sums their counts and gives rejected items their index in the whole snapshot. If a part
   * fails, the parts before it are stored: push the whole snapshot again.
   */
  async push(body: PushBody): Promise<PushResponse> {
    const limit = this.#options.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES;
    const answers: { part: Part; answer: PushResponse }[] = [];
    let queue: Part[];
    try {
      queue = splitPart(wholePart(body), limit);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new CrawlerError("payload_too_large", error.message);
    }
    while (queue.length) {
      const part = queue.shift()!;
      try {
        answers.push({
          part,
          answer: await this.#request<PushResponse>("POST", this.#path(body.accountId, "sync"), part.body),
        });
      } catch (error) {
        // The backend's limit is lower than ours: halve until the parts fit.
        if (error instanceof CrawlerError && error.code === "payload_too_large" && itemCount(part) > 1) {
          queue.unshift(...halve(part));
          continue;
        }
        throw error;
      }
    }
    return mergeAnswers(answers);
  }

  /** A sign of life with nothing to push (PROTOCOL §10); creates the account if it is new. */
  async reportHealth(accountId: string, report: CrawlerReport = {}): Promise<Health> {
    return (await this.#request<{ health: Health }>("POST", this.#path(accountId, "health"), report)).health;
  }

  /** The QR code of the login under way: a `data:image/png;base64,…` or an https URL, and when it expires (ms). */
  async reportQrcode(accountId: string, image: string, expiresAt: number): Promise<number> {
    const answer = await this.#request<{ seq: number }>("POST", this.#path(accountId, "qrcode"), { image, expiresAt });
    return answer.seq;
  }

  /** The login's progress: `waiting`, `scanned`, then `success`, `failed` or `expired`. */
  async reportLoginStatus(accountId: string, status: LoginReport, error?: string): Promise<number> {
    const body = error === undefined ? { status } : { status, error };
    return (await this.#request<{ seq: number }>("POST", this.#path(accountId, "login/status"), body)).seq;
  }

  /** Reports a command's outcome; the same report twice changes nothing. `listen` does this for you. */
  async reportResult(accountId: string, commandId: string, result: CommandResult): Promise<Command> {
    const path = this.#path(accountId, `commands/${encodeURIComponent(commandId)}/result`);
    return (await this.#request<{ command: Command }>("POST", path, result)).command;
  }

  /** The commands waiting for the crawler (listing counts as taking them). */
  async pendingCommands(accountId: string): Promise<Command[]> {
    const path = this.#path(accountId, "commands?status=pending");
    return (await this.#request<{ commands: Command[] }>("GET", path)).commands;
  }

  /**
   * Runs `handler` for every command of the account, once per attempt, over the account's
   * crawler socket (reconnecting by itself), and reports each outcome once.
   */
  listen(accountId: string, handler: CommandHandler): CommandLoop {
    return new CommandLoop(this, accountId, handler, this.#options);
  }

  /** The token for the next request or connection. */
  async token(): Promise<string> {
    const { token } = this.#options;
    return typeof token === "function" ? token() : token;
  }

  /** The account's crawler socket address. */
  async socketUrl(accountId: string): Promise<string> {
    return accountUrl(toSocketBase(this.#base), accountId, { token: await this.token() });
  }

  #path(accountId: string, rest: string): string {
    return `/api/v1/accounts/${encodeURIComponent(accountId)}/${rest}`;
  }

  #delay(attempt: number): number {
    const min = this.#options.minDelayMs ?? 500;
    const max = this.#options.maxDelayMs ?? 30_000;
    const ceiling = Math.min(max, min * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /**
   * One request, sent again on network errors and 502/503/504 (at most `maxAttempts` tries in
   * all) and after each 429 (at most `maxRateLimitWaits` waits, which are not failures).
   */
  async #request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const maxAttempts = this.#options.maxAttempts ?? 8;
    const maxWaits = this.#options.maxRateLimitWaits ?? 30;
    const text = body === undefined ? undefined : JSON.stringify(body);
    let failures = 0;
    let waits = 0;
    for (;;) {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
      if (text !== undefined) headers["content-type"] = "application/json";
      let response: Response;
      try {
        response = await this.#fetch(`${this.#base}${path}`, { method, headers, body: text });
      } catch (error) {
        if (++failures >= maxAttempts) throw networkError(method, path, error);
        await sleep(this.#delay(failures));
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      const rateLimited = response.status === 429 && ++waits <= maxWaits;
      const unavailable = RETRIED_STATUSES.has(response.status) && ++failures < maxAttempts;
      if (!rateLimited && !unavailable) throw await errorOf(method, path, response);
      const retryAfter = retryAfterMs(response);
      await response.body?.cancel();
      await sleep(retryAfter ?? this.#delay(rateLimited ? waits : failures));
    }
  }
}

function networkError(method: string, path: string, error: unknown): CrawlerError {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  const detail = cause === "ECONNREFUSED" ? "connection refused" : (cause ?? (error as Error).message);
  return new CrawlerError("network", `${method} ${path}: ${detail}`, undefined, undefined, detail);
}

/** `Retry-After` in seconds (or an HTTP date) as ms, with a little jitter so waiting crawlers do not return together. */
function retryAfterMs(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (!header) return null;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) + Math.random() * 250 : null;
}

async function errorOf(method: string, path: string, response: Response): Promise<CrawlerError> {
  const text = await response.text().catch(() => "");
  // Not the backend's JSON (a proxy's page): the status says enough.
  const error = errorInBody(text);
  const code = error?.code ?? `http_${response.status}`;
  const detail = error?.message ?? text.slice(0, 200);
  return new CrawlerError(
    code,
    `${method} ${path}: ${response.status} ${detail}`,
    response.status,
    error?.issues,
    detail,
  );
}

/**
 * One account's commands: `command:new` on the crawler socket (every pending command on each
 * connect), and a listing after each (re)connect for commands an earlier connection took but
 * never got to the crawler. Each (command, attempt) runs the handler once.
 */
export class CommandLoop {
  readonly #client: CrawlerClient;
  readonly #accountId: string;
  readonly #handler: CommandHandler;
  readonly #options: CrawlerClientOptions;
  readonly #socket: FrameSocket;
  readonly #seen = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  readonly #heartbeat: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(client: CrawlerClient, accountId: string, handler: CommandHandler, options: CrawlerClientOptions) {
    this.#client = client;
    this.#accountId = accountId;
    this.#handler = handler;
    this.#options = options;
    this.#socket = new FrameSocket(
      {
        url: () => client.socketUrl(accountId),
        WebSocket: options.WebSocket,
        reconnect: options.reconnect,
      },
      {
        open: () => this.#onOpen(),
        frame: (frame) => {
          if (frame.type === "command:new") this.#offer((frame.payload as { command: Command }).command);
          else if (frame.type === "error") this.#fail(new CrawlerError("socket", JSON.stringify(frame.payload)));
        },
        state: () => {},
        failure: () => {},
        // The socket reconnects with what the token getter gives next; a fixed token that
        // expired keeps failing, which the author hears about here.
        tokenExpired: () => this.#fail(new CrawlerError("unauthorized", "the crawler token expired (close 4001)")),
      },
    );
    const heartbeatMs = options.heartbeatMs ?? 25_000;
    if (heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => {
        this.#socket.reconnectIfSilent(heartbeatMs * 2.5);
        this.#socket.ping();
      }, heartbeatMs);
    }
  }

  /** `open` while the socket is up; `reconnecting` in between. */
  get state(): ConnectionState {
    return this.#socket.state;
  }

  /** Closes the socket, then waits for the handlers already running and their reports. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#socket.close();
    while (this.#running.size) await Promise.all(this.#running);
  }

  #onOpen(): void {
    this.#client.pendingCommands(this.#accountId).then(
      (commands) => commands.forEach((command) => this.#offer(command)),
      (error: Error) => this.#fail(error),
    );
  }

  #offer(command: Command): void {
    if (this.#stopped || command.status !== "pending") return;
    const key = `${command.id}#${command.attempts}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.values().next().value!);
    const run = this.#run(command).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  async #run(command: Command): Promise<void> {
    let result: CommandResult | void;
    try {
      result = await this.#handler(command, this.#accountId);
    } catch (error) {
      result = { status: "failed", error: (error as Error).message || String(error) };
    }
    if (!result) return;
    try {
      await this.#client.reportResult(this.#accountId, command.id, result);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  #fail(error: Error): void {
    if (this.#options.onError) this.#options.onError(error);
    else console.error(`crawler ${this.#accountId}:`, error.message);
  }
}
