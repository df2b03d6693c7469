/**
 * The tenant's Directory socket (`/api/v1/ws`, PROTOCOL §6.1): the channel list, its live
 * updates and the crm-pc-im `client:register` handshake.
 */
import type { ClientPayload } from "../src/contract/schemas";
import { ANSWERS } from "../src/contract/wire";
import type { AnswerOf, Channel } from "../src/contract/wire";
import { AdapterError, PendingRequests } from "./requests";
import type { IncomingFrame } from "./requests";
import { FrameSocket } from "./socket";
import type { ConnectionState, ReconnectOptions } from "./types";
import { directoryUrl } from "./urls";

export type Registration = {
  clientId: string;
  clientType: "monitor" | "admin";
  deviceType?: string;
  appVersion?: string;
};

/** What an admin may change about a channel (`channel:update`). */
export type ChannelPatch = { enabled?: boolean; isPinned?: boolean; name?: string };

/** Whether a channel shows every field of the patch. */
function reflects(channel: Channel, patch: ChannelPatch): boolean {
  return (
    (patch.enabled === undefined || channel.enabled === patch.enabled) &&
    (patch.isPinned === undefined || channel.isPinned === patch.isPinned) &&
    (patch.name === undefined || channel.name === patch.name)
  );
}

export type DirectoryEvents = {
  channels(channels: Channel[]): void;
  state(state: ConnectionState): void;
  error(error: AdapterError): void;
  tokenExpired(): void;
  /** Any other frame, for `onFrame`. */
  frame(frame: IncomingFrame): void;
  /** Every frame, as it arrives. */
  incoming(frame: IncomingFrame): void;
};

export type DirectoryOptions = {
  base: string;
  token: () => Promise<string>;
  registration: () => Registration;
  requestTimeout: number;
  WebSocket?: unknown;
  reconnect?: ReconnectOptions;
  maxFramesPerSecond?: number;
};

/** Pinned first, then the newest message first (the server's order, kept after updates). */
function sortChannels(channels: Iterable<Channel>): Channel[] {
  return [...channels].sort((a, b) => Number(b.isPinned) - Number(a.isPinned) || b.lastMessageTime - a.lastMessageTime);
}

/**
 * @example
 * const directory = new DirectoryConnection(options, events);
 * await directory.opened; directory.channels;
 */
export class DirectoryConnection {
  readonly opened: Promise<void>;
  #socket: FrameSocket;
  #requests = new PendingRequests("d");
  #channels = new Map<string, Channel>();
  /** request id → the channel update it waits to see broadcast. */
  #updates = new Map<string, { channelId: string; patch: ChannelPatch }>();
  #events: DirectoryEvents;
  #options: DirectoryOptions;
  #heartbeatInterval: number | undefined;

  constructor(options: DirectoryOptions, events: DirectoryEvents) {
    this.#options = options;
    this.#events = events;
    let settle: { resolve(): void; reject(error: Error): void } | undefined;
    this.opened = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // The adapter awaits it in connect(); a rejection nobody awaits must not crash Node.
    this.opened.catch(() => undefined);
    this.#socket = new FrameSocket(
      {
        url: async () => directoryUrl(options.base, { token: await options.token() }),
        WebSocket: options.WebSocket,
        reconnect: options.reconnect,
        maxFramesPerSecond: options.maxFramesPerSecond,
      },
      {
        open: () => {
          settle?.resolve();
          settle = undefined;
          this.#onOpen();
        },
        frame: (frame) => this.#onFrame(frame),
        state: (state) => events.state(state),
        tokenExpired: () => events.tokenExpired(),
        failure: (error) => {
          settle?.reject(new AdapterError("connect_failed", `could not open the Directory socket: ${error.message}`));
          settle = undefined;
        },
      },
    );
  }

  get socket(): FrameSocket {
    return this.#socket;
  }

  get channels(): Channel[] {
    return sortChannels(this.#channels.values());
  }

  /** The heartbeat interval the server suggested in `client:register:success`, in ms. */
  get heartbeatInterval(): number | undefined {
    return this.#heartbeatInterval;
  }

  /** The crm-pc-im handshake: `client:register` → `client:register:success`. */
  async register(registration: Registration): Promise<void> {
    const payload: ClientPayload<"client:register"> = {
      client_id: registration.clientId,
      device_id: registration.clientId,
    };
    if (registration.deviceType) payload.device_type = registration.deviceType;
    if (registration.appVersion) payload.app_version = registration.appVersion;
    const answer = await this.#request("client:register", payload);
    const interval = answer.payload.heartbeat_interval;
    if (typeof interval === "number" && interval > 0) this.#heartbeatInterval = interval;
  }

  async requestChannels(): Promise<Channel[]> {
    const answer = await this.#request("monitor:request_channels", {});
    this.#replaceChannels(answer.payload);
    return this.channels;
  }

  /**
   * `channel:update` (admin). The server answers with a `channel:updated` broadcast that
   * carries no request id, so the update settles when a broadcast shows the change; an
   * `error` frame with its id rejects it.
   */
  async updateChannel(channelId: string, patch: ChannelPatch): Promise<Channel> {
    const request = this.#requests.create(
      "channel:update",
      { channelId, ...patch },
      { answers: [], timeoutMs: this.#options.requestTimeout },
    );
    this.#updates.set(request.id, { channelId, patch });
    this.#socket.send(request.text);
    try {
      return (await request.answer).payload as Channel;
    } finally {
      this.#updates.delete(request.id);
    }
  }

  close(reason: AdapterError): void {
    this.#socket.close();
    this.#requests.rejectAll(reason);
  }

  #request<T extends "client:register" | "monitor:request_channels">(
    type: T,
    payload: ClientPayload<T>,
  ): Promise<AnswerOf<T>> {
    const request = this.#requests.create(type, payload ?? {}, {
      answers: [ANSWERS[type]],
      timeoutMs: this.#options.requestTimeout,
      acceptBroadcast: true,
    });
    this.#socket.send(request.text);
    // The frame is the backend's answer of this type (the contract's `ServerFrame`).
    return request.answer as Promise<AnswerOf<T>>;
  }

  #onOpen(): void {
    const registration = this.#options.registration();
    const payload: Record<string, string> = { clientId: registration.clientId, clientType: registration.clientType };
    if (registration.deviceType) payload.deviceType = registration.deviceType;
    if (registration.appVersion) payload.appVersion = registration.appVersion;
    // Registering again on every socket brings a fresh channel list after any outage.
    this.#socket.send(JSON.stringify({ type: "monitor:register", payload }));
    for (const text of this.#requests.texts()) this.#socket.send(text);
  }

  #onFrame(frame: IncomingFrame): void {
    this.#events.incoming(frame);
    if (frame.type === "monitor:channels") this.#replaceChannels(frame.payload);
    if (frame.type === "channel:updated") this.#updateChannel(frame.payload);
    if (this.#requests.settle(frame)) return;
    if (frame.type === "error") {
      const error = (frame.payload ?? {}) as { code?: string; message?: string };
      this.#events.error(new AdapterError(error.code ?? "internal", error.message ?? "Directory error"));
      return;
    }
    if (frame.type !== "monitor:channels" && frame.type !== "channel:updated") this.#events.frame(frame);
  }

  #replaceChannels(payload: unknown): void {
    const channels = (payload as { channels?: unknown } | undefined)?.channels;
    if (!Array.isArray(channels)) return;
    this.#channels = new Map(channels.map((channel: Channel) => [channel.id, channel]));
    this.#events.channels(this.channels);
  }

  #updateChannel(payload: unknown): void {
    const channel = (payload as { channel?: Channel } | undefined)?.channel;
    if (!channel || typeof channel.id !== "string") return;
    this.#channels.set(channel.id, channel);
    for (const [id, update] of this.#updates) {
      if (update.channelId === channel.id && reflects(channel, update.patch))
        this.#requests.resolve(id, { type: "channel:updated", payload: channel });
    }
    this.#events.channels(this.channels);
  }
}
