/**
 * One reconnecting socket (partysocket) that speaks JSON frames. It sends only while
 * open and never leaves a frame in partysocket's own buffer: a frame buffered while
 * down would be flushed on the next open *before* the adapter re-registers and resumes,
 * so the adapter keeps its own queues and decides what is still worth sending. When it tries
 * again is backoff.ts's: partysocket's own delay is turned off (its first retry has none).
 */
import ReconnectingWebSocket from "partysocket/ws";
import { CLOSE_CODES, PING, PONG } from "../src/contract/wire";
import type { ErrorPayload } from "../src/contract/wire";
import { Backoff, retryAfterMs } from "./backoff";
import { Pacer } from "./pacer";
import { errorInBody } from "./requests";
import type { IncomingFrame } from "./requests";
import type { ConnectionState, ReconnectOptions } from "./types";

export type SocketHandlers = {
  open(): void;
  frame(frame: IncomingFrame): void;
  state(state: ConnectionState): void;
  /** A failed attempt or a broken socket, with what the runtime said about it. */
  failure(error: Error): void;
  /** The server closed the socket because the token expired (close code 4001). */
  tokenExpired(): void;
  /**
   * The server refused an upgrade with this HTTP status and, when its body was the backend's
   * error (PROTOCOL §3), that error. Seen in Node's `ws` only; browsers hide a refused upgrade.
   */
  refused?(status: number, error: ErrorPayload | null): void;
  /** An open connection closed, with the close frame's code and reason. */
  closed?(code: number, reason: string): void;
};

export type SocketOptions = {
  url: () => Promise<string>;
  WebSocket?: unknown;
  reconnect?: ReconnectOptions;
  /** Outgoing frames per second at most (the heartbeat excepted); 0 for no limit. */
  maxFramesPerSecond?: number;
};

/** Frames `emit` may hold for a socket that is not open yet; past it, `queue` refuses. */
export const MAX_QUEUED_FRAMES = 100;
const DEFAULTS = { minDelay: 1000, maxDelay: 5000, minUptime: 5000, connectTimeout: 10_000 };

type Refusal = (ms: number | null, status: number, body: string) => void;
type NodeSocket = { once?(event: string, listener: (...args: never[]) => void): unknown; terminate?(): void };
type UpgradeResponse = {
  statusCode?: number;
  headers?: Record<string, string | string[] | undefined>;
  setEncoding?(encoding: "utf8"): unknown;
  on?(event: "data", listener: (chunk: string) => void): unknown;
  once?(event: "end" | "error", listener: () => void): unknown;
};

/** The most of a refusal's body kept (an error body is a few hundred bytes), and how long it is waited for. */
const REFUSAL_BODY_CHARS = 4096;
const REFUSAL_BODY_WAIT_MS = 2_000;

/**
 * The `WebSocket` class wrapped so that a refused upgrade's `Retry-After` reaches `refused`.
 * Only Node's `ws` shows a failed upgrade's response (its `unexpected-response` event);
 * browsers hide it, which is why a room shedding load closes with 1013 instead (PROTOCOL §6).
 */
function readingRefusals(Base: unknown, refused: Refusal): unknown {
  const Socket = Base as new (url: string, protocols?: string | string[]) => NodeSocket;
  return function RefusalReadingSocket(url: string, protocols?: string | string[]) {
    const socket = protocols === undefined ? new Socket(url) : new Socket(url, protocols);
    socket.once?.("unexpected-response", (_request: unknown, response: UpgradeResponse) => {
      const header = response.headers?.["retry-after"];
      let body = "";
      let done = false;
      // The body says why (PROTOCOL §3's error); it is read before the handshake is ended.
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        refused(retryAfterMs(Array.isArray(header) ? header[0] : header), response.statusCode ?? 0, body);
        // With a listener, ws leaves the failed handshake open: end it as ws would without one.
        socket.terminate?.();
      };
      const timer = setTimeout(finish, REFUSAL_BODY_WAIT_MS);
      response.setEncoding?.("utf8");
      response.on?.("data", (chunk) => {
        if (body.length < REFUSAL_BODY_CHARS) body += chunk.slice(0, REFUSAL_BODY_CHARS - body.length);
      });
      response.once?.("end", finish);
      response.once?.("error", finish);
      if (!response.once) finish();
    });
    return socket;
  };
}

function sleep(ms: number, wake: (cancel: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function parseFrame(data: unknown): IncomingFrame | null {
  if (typeof data !== "string") return null;
  try {
    const value = JSON.parse(data) as unknown;
    if (typeof value !== "object" || value === null || typeof (value as IncomingFrame).type !== "string") return null;
    return value as IncomingFrame;
  } catch {
    return null;
  }
}

/**
 * @example
 * const socket = new FrameSocket({ url: async () => "ws://127.0.0.1:8787/api/v1/ws?token=…" }, handlers);
 * socket.send(JSON.stringify({ type: "monitor:request_channels", payload: {} }));
 */
export class FrameSocket {
  #socket: ReconnectingWebSocket;
  #handlers: SocketHandlers;
  #lastHeard = Date.now();
  #state: ConnectionState = "connecting";
  #pacer: Pacer | undefined;
  readonly #backoff: Backoff;
  readonly #minUptime: number;
  readonly #maxDelay: number;
  #attempts = 0;
  #openedAt = 0;
  #refusal: string | undefined;
  #cancelWait: (() => void) | undefined;
  #queued: string[] = [];

  constructor(options: SocketOptions, handlers: SocketHandlers) {
    this.#handlers = handlers;
    if (options.maxFramesPerSecond) this.#pacer = new Pacer(options.maxFramesPerSecond, (text) => this.#write(text));
    const reconnect = { ...DEFAULTS, ...options.reconnect };
    this.#backoff = new Backoff(reconnect);
    this.#minUptime = reconnect.minUptime;
    this.#maxDelay = reconnect.maxDelay;
    const socketOptions: ConstructorParameters<typeof ReconnectingWebSocket>[2] = {
      minReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      connectionTimeout: reconnect.connectTimeout,
    };
    if (options.WebSocket !== undefined) socketOptions.WebSocket = readingRefusals(options.WebSocket, this.#refused);
    if (options.reconnect?.maxRetries !== undefined) socketOptions.maxRetries = options.reconnect.maxRetries;
    this.#socket = new ReconnectingWebSocket(() => this.#nextUrl(options.url), null, socketOptions);
    this.#socket.addEventListener("open", this.#onOpen);
    this.#socket.addEventListener("message", this.#onMessage);
    this.#socket.addEventListener("close", this.#onClose);
    this.#socket.addEventListener("error", this.#onError);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#socket.readyState === ReconnectingWebSocket.OPEN;
  }

  /**
   * Sends on the open connection (now, or paced within the next moments); false when the
   * socket is not open. Frames still paced when the connection drops are dropped with it.
   */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    if (this.#pacer) this.#pacer.push(text);
    else this.#write(text);
    return true;
  }

  /**
   * Sends now, or holds the frame (at most `MAX_QUEUED_FRAMES`) until the next open, after
   * the owner's own opening frames; false when the queue is full.
   */
  queue(text: string): boolean {
    if (this.send(text)) return true;
    if (this.#queued.length >= MAX_QUEUED_FRAMES) return false;
    this.#queued.push(text);
    return true;
  }

  /** The heartbeat frame, exactly `{"type":"ping"}`; the runtime answers it, so it is not paced. */
  ping(): void {
    if (this.isOpen) this.#write(PING);
  }

  /** Drops a socket that has been silent too long (a half-open connection) so it reconnects. */
  reconnectIfSilent(maxSilenceMs: number): void {
    if (this.isOpen && Date.now() - this.#lastHeard > maxSilenceMs) this.reconnect("heartbeat timeout");
  }

  /** Replaces the connection now (a fresh token and position are read for the new one). */
  reconnect(reason: string): void {
    if (this.#state !== "closed") this.#socket.reconnect(4000, reason);
  }

  close(): void {
    this.#queued = [];
    this.#pacer?.clear();
    this.#cancelWait?.();
    this.#socket.close(1000, "client closed");
    this.#socket.drainQueuedMessages();
    this.#setState("closed");
  }

  /** Every attempt but a socket's very first waits its turn (backoff.ts), then reads a fresh address. */
  async #nextUrl(url: () => Promise<string>): Promise<string> {
    if (this.#attempts++ > 0) {
      await sleep(this.#backoff.next(), (cancel) => (this.#cancelWait = cancel));
      this.#cancelWait = undefined;
    }
    return url();
  }

  #refused: Refusal = (ms, status, body) => {
    const error = errorInBody(body);
    const why = error ? ` ${error.code}: ${error.message}` : "";
    this.#refusal = `refused with ${status}${why}${ms === null ? "" : ` (retry after ${ms / 1000} s)`}`;
    if (ms !== null) this.#backoff.refused(ms);
    this.#handlers.refused?.(status, error);
  };

  #write(text: string): void {
    if (!this.isOpen || this.#socket.send(text)) return;
    this.#socket.drainQueuedMessages();
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#handlers.state(state);
  }

  #onOpen = (): void => {
    this.#pacer?.clear();
    this.#lastHeard = Date.now();
    this.#openedAt = this.#lastHeard;
    this.#setState("open");
    this.#handlers.open();
    const queued = this.#queued;
    this.#queued = [];
    for (const text of queued) this.send(text);
  };

  #onMessage = (event: MessageEvent): void => {
    this.#lastHeard = Date.now();
    if (event.data === PONG) return;
    const frame = parseFrame(event.data);
    if (frame) this.#handlers.frame(frame);
  };

  #onClose = (event: CloseEvent): void => {
    this.#pacer?.clear();
    if (this.#state === "closed") return;
    if (this.#openedAt && Date.now() - this.#openedAt >= this.#minUptime) this.#backoff.reset();
    if (this.#openedAt) this.#handlers.closed?.(event.code, event.reason);
    this.#openedAt = 0;
    if (event.code === CLOSE_CODES.tryAgainLater) this.#backoff.refused(retryAfterMs(event.reason) ?? this.#maxDelay);
    if (event.code === CLOSE_CODES.tokenExpired) this.#handlers.tokenExpired();
    this.#setState(this.#socket.shouldReconnect ? "reconnecting" : "closed");
  };

  #onError = (event: Event): void => {
    const message = this.#refusal ?? (event as Event & { message?: string }).message;
    this.#refusal = undefined;
    this.#handlers.failure(new Error(message ? `socket error: ${message}` : "socket error"));
  };
}
