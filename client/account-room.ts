/**
 * One account's socket (`/api/v1/accounts/:id/ws`, PROTOCOL §6.2): resumes from the last
 * delivered `seq` on every (re)connect, hands each event to the app exactly once and in
 * order, answers requests, and keeps replies queued until the room has accepted them.
 */
import type { ClientPayload } from "../src/contract/schemas";
import { ANSWERS, EVENT_TYPES } from "../src/contract/wire";
import type { AnswerOf, RequestType } from "../src/contract/wire";
import type { Registration } from "./directory";
import { AdapterError, PendingRequests } from "./requests";
import type { IncomingFrame } from "./requests";
import { Sequencer } from "./sequencer";
import type { Position, SequencedFrame, SequencerOutput } from "./sequencer";
import { FrameSocket } from "./socket";
import type { QueuedReply } from "./replies";
import type { AccountStore } from "./storage";
import type { ConnectionState, ReconnectOptions } from "./types";
import { accountUrl } from "./urls";

export type AccountEvents = {
  deliver(accountId: string, frame: SequencedFrame): void;
  reset(accountId: string, room: { seq: number; epoch: string }): void;
  state(accountId: string, state: ConnectionState): void;
  error(accountId: string, error: AdapterError): void;
  tokenExpired(accountId: string): void;
  /** Frames that are neither events nor answers (presence…), for `onFrame`. */
  frame(accountId: string, frame: IncomingFrame): void;
  /** Every frame that is not an event (events go through `deliver`), as it arrives. */
  incoming(accountId: string, frame: IncomingFrame): void;
  syncProgress(accountId: string, progress: { sent: number; total: number }): void;
  syncComplete(accountId: string, room: { seq: number; epoch: string }): void;
};

export type AccountOptions = {
  base: string;
  accountId: string;
  token: () => Promise<string>;
  registration: () => Registration;
  store: AccountStore;
  requestTimeout: number;
  ackInterval: number;
  WebSocket?: unknown;
  reconnect?: ReconnectOptions;
  maxFramesPerSecond?: number;
};

/** How long to wait before sending again a frame the room refused as `rate_limited`. */
const RATE_LIMIT_RETRY_MS = 1000;

function isSequenced(frame: IncomingFrame): frame is IncomingFrame & SequencedFrame {
  const seq = (frame.payload as { seq?: unknown } | undefined)?.seq;
  return typeof seq === "number" && Number.isInteger(seq) && seq >= 0;
}

function samePosition(a: Position, b: Position): boolean {
  return a.seq === b.seq && a.epoch === b.epoch;
}

/**
 * @example
 * const room = new AccountConnection(options, events);
 * const answer = await room.request("monitor:request_topics", {}); // answer.payload.topics
 */
/** The requests an account's room answers (the Directory's are directory.ts'). */
type RoomRequest = Exclude<RequestType, "client:register" | "monitor:request_channels" | "monitor:reply">;

export class AccountConnection {
  readonly accountId: string;
  #options: AccountOptions;
  #events: AccountEvents;
  #socket: FrameSocket;
  #sequencer: Sequencer;
  #saved: Position;
  #requests = new PendingRequests("q");
  #replies = new Map<string, Promise<AnswerOf<"monitor:reply">>>();
  #outbox: QueuedReply[] = [];
  /** mark_read frames waiting for a socket, the latest per topic. */
  #marks = new Map<string, string>();
  #notificationAcks: string[] = [];
  #syncId: string | undefined;
  #syncCount = 0;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #ackedSeq = -1;
  #closed = false;
  #registerTimer: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;
  #replyTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: AccountOptions, events: AccountEvents) {
    this.accountId = options.accountId;
    this.#options = options;
    this.#events = events;
    this.#saved = options.store.loadPosition();
    this.#sequencer = new Sequencer(this.#saved);
    this.#socket = new FrameSocket(
      {
        url: () => this.#url(),
        WebSocket: options.WebSocket,
        reconnect: options.reconnect,
        maxFramesPerSecond: options.maxFramesPerSecond,
      },
      {
        open: () => this.#onOpen(),
        frame: (frame) => this.#onFrame(frame),
        state: (state) => events.state(this.accountId, state),
        failure: () => undefined,
        tokenExpired: () => events.tokenExpired(this.accountId),
      },
    );
    // Replies typed before the app last closed go out with this connection.
    for (const reply of options.store.loadOutbox()) this.sendReply(reply).catch(() => undefined);
  }

  get socket(): FrameSocket {
    return this.#socket;
  }

  get position(): Position {
    return this.#sequencer.position;
  }

  /** Replies not accepted yet, oldest first. */
  get queuedReplies(): QueuedReply[] {
    return [...this.#outbox];
  }

  /** Sends a request now or on the next socket; settles with its answer, an error frame or the timeout. */
  request<T extends RoomRequest>(type: T, payload: ClientPayload<T>): Promise<AnswerOf<T>> {
    const request = this.#requests.create(type, payload ?? {}, {
      answers: [ANSWERS[type]],
      timeoutMs: this.#options.requestTimeout,
    });
    this.#socket.send(request.text);
    // The frame is the backend's answer of this type (the contract's `ServerFrame`).
    return request.answer as Promise<AnswerOf<T>>;
  }

  /**
   * `monitor:reply`, resent on every new socket until `monitor:reply:accepted`. The same
   * `clientMsgId` is one reply: here (one queue entry) and on the server (one message).
   */
  sendReply(reply: QueuedReply): Promise<AnswerOf<"monitor:reply">> {
    const existing = this.#replies.get(reply.clientMsgId);
    if (existing) return existing;
    const payload: Record<string, string> = {
      topicId: reply.topicId,
      content: reply.content,
      clientMsgId: reply.clientMsgId,
    };
    if (reply.replyToId) payload.replyToId = reply.replyToId;
    const request = this.#requests.create("monitor:reply", payload, {
      answers: [ANSWERS["monitor:reply"]],
      timeoutMs: null,
    });
    const answer = request.answer as Promise<AnswerOf<"monitor:reply">>;
    this.#replies.set(reply.clientMsgId, answer);
    this.#outbox.push(reply);
    this.#options.store.saveOutbox(this.#outbox);
    const forget = (): void => {
      this.#replies.delete(reply.clientMsgId);
      if (this.#replies.size === 0) {
        clearInterval(this.#replyTimer);
        this.#replyTimer = undefined;
      }
      // On disconnect() the reply stays stored and goes out with the next connect.
      if (this.#closed) return;
      this.#outbox = this.#outbox.filter((queued) => queued.clientMsgId !== reply.clientMsgId);
      this.#options.store.saveOutbox(this.#outbox);
    };
    answer.then(forget, forget);
    this.#socket.send(request.text);
    // An answer can be lost without the socket dropping (a frame refused by a rate limit):
    // the same clientMsgId sent again is harmless, so unanswered replies go out again.
    this.#replyTimer ??= setInterval(() => {
      for (const text of this.#requests.textsOf("monitor:reply")) this.#socket.send(text);
    }, this.#options.requestTimeout);
    return answer;
  }

  /**
   * `account:login:start` (admin). The room answers with the event
   * `account:login:status {status: "pending"}`, which settles it (and is still delivered
   * as an event); an `error` frame with its id rejects it.
   */
  startLogin(): Promise<IncomingFrame> {
    const request = this.#requests.create(
      "account:login:start",
      {},
      {
        answers: [],
        timeoutMs: this.#options.requestTimeout,
      },
    );
    this.#socket.send(request.text);
    return request.answer;
  }

  markRead(topicId: string, seq?: number): void {
    const text = JSON.stringify({
      type: "monitor:mark_read",
      payload: seq === undefined ? { topicId } : { topicId, seq },
    });
    if (!this.#socket.send(text)) this.#marks.set(topicId, text);
  }

  notificationAck(notificationId: string): void {
    const text = JSON.stringify({ type: "client:notification:ack", payload: { notification_id: notificationId } });
    if (!this.#socket.send(text)) this.#notificationAcks.push(text);
  }

  /** Tells the room who this client is again (after `registerClient` changed the id). */
  reregister(): void {
    this.#socket.send(this.#registerText());
  }

  close(reason: AdapterError): void {
    this.#closed = true;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#registerTimer);
    clearTimeout(this.#syncTimer);
    clearInterval(this.#replyTimer);
    this.#socket.close();
    this.#requests.rejectAll(reason);
  }

  async #url(): Promise<string> {
    const query: { token: string; clientId: string; since?: number; epoch?: string } = {
      token: await this.#options.token(),
      clientId: this.#options.registration().clientId,
    };
    // The room replays after `since` before it even reads a frame, or answers `sync:reset`
    // if `epoch` is not its own: the resume costs no round trip.
    const { seq, epoch } = this.#sequencer.position;
    if (seq !== null) query.since = seq;
    if (seq !== null && epoch !== null) query.epoch = epoch;
    return accountUrl(this.#options.base, this.accountId, query);
  }

  #registerText(): string {
    const registration = this.#options.registration();
    const payload: Record<string, string> = { clientId: registration.clientId, clientType: registration.clientType };
    if (registration.deviceType) payload.deviceType = registration.deviceType;
    if (registration.appVersion) payload.appVersion = registration.appVersion;
    return JSON.stringify({ type: "monitor:register", payload });
  }

  #onOpen(): void {
    this.#sequencer.opened();
    this.#endSync();
    // The answer (`monitor:registered {seq, epoch}`) tells whether to resume or reset.
    this.#socket.send(this.#registerText());
    // Events are held until that answer: a socket that never gives it is replaced.
    clearTimeout(this.#registerTimer);
    this.#registerTimer = setTimeout(() => {
      if (!this.#sequencer.ready && !this.#closed) this.#socket.reconnect("no monitor:registered");
    }, this.#options.requestTimeout);
    for (const text of this.#requests.texts()) this.#socket.send(text);
    for (const [topicId, text] of [...this.#marks]) if (this.#socket.send(text)) this.#marks.delete(topicId);
    while (this.#notificationAcks.length > 0 && this.#socket.send(this.#notificationAcks[0]!))
      this.#notificationAcks.shift();
  }

  #onFrame(frame: IncomingFrame): void {
    // A long replay is alive while its frames keep coming.
    if (this.#syncId !== undefined && (frame.type === "batch" || frame.type === "sync:progress")) this.#watchSync();
    // Events reach `on` listeners when delivered (once, in order); everything else now.
    if (frame.type !== "batch" && !EVENT_TYPES.has(frame.type)) this.#events.incoming(this.accountId, frame);
    switch (frame.type) {
      case "batch": {
        const frames = (frame.payload as { frames?: unknown } | undefined)?.frames;
        if (Array.isArray(frames)) {
          for (const inner of frames as IncomingFrame[])
            if (isSequenced(inner)) this.#apply(this.#sequencer.event(inner));
        }
        break;
      }
      case "monitor:registered":
        clearTimeout(this.#registerTimer);
        this.#apply(this.#sequencer.registered((frame.payload ?? {}) as { seq?: number; epoch?: string }));
        break;
      case "sync:complete": {
        this.#endSync();
        const room = (frame.payload ?? {}) as { seq?: number; epoch?: string };
        this.#apply(this.#sequencer.syncComplete(room));
        if (typeof room.seq === "number" && typeof room.epoch === "string")
          this.#events.syncComplete(this.accountId, { seq: room.seq, epoch: room.epoch });
        break;
      }
      case "sync:reset":
        this.#endSync();
        this.#apply(this.#sequencer.syncReset(frame.payload as { seq: number; epoch: string }));
        break;
      case "sync:progress": {
        const { sent, total } = (frame.payload ?? {}) as { sent?: unknown; total?: unknown };
        if (typeof sent === "number" && typeof total === "number")
          this.#events.syncProgress(this.accountId, { sent, total });
        break;
      }
      case "ack":
        break;
      case "error":
        this.#onError(frame);
        break;
      default:
        if (this.#requests.settle(frame)) break;
        if (frame.type === "account:login:status" && (frame.payload as { status?: unknown }).status === "pending")
          for (const id of this.#requests.idsOf("account:login:start")) this.#requests.resolve(id, frame);
        if (isSequenced(frame)) this.#apply(this.#sequencer.event(frame));
        else this.#events.frame(this.accountId, frame);
    }
    this.#persist();
  }

  #onError(frame: IncomingFrame): void {
    const payload = (frame.payload ?? {}) as { code?: string; message?: string };
    const error = new AdapterError(payload.code ?? "internal", payload.message ?? "account socket error");
    const id = frame.id;
    if (id !== undefined && id === this.#syncId) {
      // Held-back events wait for that replay; skipping it would skip the gap. Ask again,
      // later or on a fresh socket (whose URL resumes from the same position).
      this.#endSync();
      if (error.code === "rate_limited") setTimeout(() => this.#retrySync(), RATE_LIMIT_RETRY_MS);
      else this.#socket.reconnect("sync:start failed");
      this.#events.error(this.accountId, error);
      return;
    }
    if (error.code === "rate_limited" && id !== undefined && this.#requests.has(id)) {
      setTimeout(() => {
        const text = this.#requests.text(id);
        if (text) this.#socket.send(text);
      }, RATE_LIMIT_RETRY_MS);
      return;
    }
    if (!this.#requests.settle(frame)) this.#events.error(this.accountId, error);
  }

  #apply(output: SequencerOutput): void {
    if (output.reset) {
      this.#ackedSeq = -1;
      this.#events.reset(this.accountId, output.reset);
    }
    for (const frame of output.deliver) this.#events.deliver(this.accountId, frame);
    if (output.syncSince !== undefined) this.#startSync(output.syncSince);
  }

  #startSync(since: number): void {
    this.#syncId = `s${++this.#syncCount}`;
    const { epoch } = this.#sequencer.position;
    const payload = epoch === null ? { since } : { since, epoch };
    this.#socket.send(JSON.stringify({ type: "sync:start", id: this.#syncId, payload }));
    this.#watchSync();
  }

  #retrySync(): void {
    const { seq } = this.#sequencer.position;
    if (!this.#closed && this.#syncId === undefined && this.#sequencer.ready && seq !== null) this.#startSync(seq);
  }

  /** A replay that stops answering is given up for a fresh socket, which resumes by itself. */
  #watchSync(): void {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = setTimeout(() => {
      if (this.#syncId !== undefined && !this.#closed) this.#socket.reconnect("sync:start got no answer");
    }, this.#options.requestTimeout);
  }

  #endSync(): void {
    this.#syncId = undefined;
    clearTimeout(this.#syncTimer);
  }

  #persist(): void {
    const position = this.#sequencer.position;
    if (samePosition(position, this.#saved)) return;
    this.#options.store.savePosition(position);
    this.#saved = position;
    this.#scheduleAck();
  }

  /** `ack {seq}` lets the server resume this clientId even if local storage is lost. */
  #scheduleAck(): void {
    if (this.#options.ackInterval <= 0 || this.#ackTimer !== undefined || this.#closed) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      const { seq } = this.#sequencer.position;
      if (seq === null || seq <= this.#ackedSeq) return;
      if (this.#socket.send(JSON.stringify({ type: "ack", payload: { seq } }))) this.#ackedSeq = seq;
      else this.#scheduleAck();
    }, this.#options.ackInterval);
  }
}
