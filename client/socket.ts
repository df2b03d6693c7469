/**
 * One reconnecting socket (partysocket) that speaks JSON frames. It sends only while
 * open and never leaves a frame in partysocket's own buffer: a frame buffered while
 * down would be flushed on the next open *before* the adapter re-registers and resumes,
 * so the adapter keeps its own queues and decides what is still worth sending.
 */
import ReconnectingWebSocket from "partysocket/ws";
import { PING, PONG } from "../src/wire";
import { Pacer } from "./pacer";
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
};

export type SocketOptions = {
  url: () => Promise<string>;
  WebSocket?: unknown;
  reconnect?: ReconnectOptions;
  /** Outgoing frames per second at most (the heartbeat excepted); 0 for no limit. */
  maxFramesPerSecond?: number;
};

/** The close code the backend uses for a socket whose token expired (PROTOCOL §6, docs/DESIGN.md). */
const CLOSE_TOKEN_EXPIRED = 4001;

const DEFAULTS = { minDelay: 1000, maxDelay: 5000, minUptime: 5000, connectTimeout: 4000 };

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

  constructor(options: SocketOptions, handlers: SocketHandlers) {
    this.#handlers = handlers;
    if (options.maxFramesPerSecond) this.#pacer = new Pacer(options.maxFramesPerSecond, (text) => this.#write(text));
    const reconnect = { ...DEFAULTS, ...options.reconnect };
    const socketOptions: ConstructorParameters<typeof ReconnectingWebSocket>[2] = {
      minReconnectionDelay: reconnect.minDelay,
      maxReconnectionDelay: reconnect.maxDelay,
      minUptime: reconnect.minUptime,
      connectionTimeout: reconnect.connectTimeout,
    };
    if (options.WebSocket !== undefined) socketOptions.WebSocket = options.WebSocket;
    if (options.reconnect?.maxRetries !== undefined) socketOptions.maxRetries = options.reconnect.maxRetries;
    this.#socket = new ReconnectingWebSocket(options.url, null, socketOptions);
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
    this.#pacer?.clear();
    this.#socket.close(1000, "client closed");
    this.#socket.drainQueuedMessages();
    this.#setState("closed");
  }

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
    this.#setState("open");
    this.#handlers.open();
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
    if (event.code === CLOSE_TOKEN_EXPIRED) this.#handlers.tokenExpired();
    this.#setState(this.#socket.shouldReconnect ? "reconnecting" : "closed");
  };

  #onError = (event: Event): void => {
    const message = (event as Event & { message?: string }).message;
    this.#handlers.failure(new Error(message ? `socket error: ${message}` : "socket error"));
  };
}
