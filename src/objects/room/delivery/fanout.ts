/**
 * How an AccountRoom's events reach its readers' sockets: live, in batches, admin-only
 * events to admins alone; replayed after a reconnect from the stored log, byte for byte the
 * frames that went out live (ARCHITECTURE principle 4); and who is online.
 *
 * Over 300 lines because live sends and paced replays share one piece of state (the sockets
 * with a replay under way, which live events skip): split, each half would reach into the other.
 */
import { ApiError } from "../../../contract/errors";
import type { EventFrame, OnlineClient, ServerFrame } from "../../../contract/schemas";
import { ClientRegistry } from "./client-registry";
import type { OnlineList } from "./client-registry";
import { forAgents } from "../events";
import { ExpectedClients } from "./expected-clients";
import { ReplayCache } from "./replay-cache";
import type { ReplayFrames } from "./replay-cache";
import type { RoomStore } from "../store/room-store";
import { attachmentOf, batchOf, send, sendError } from "../../sockets/socket";
import type { Attachment } from "../../sockets/socket";

/** Replay sends `sync:progress` after every this many events, each group as one batch frame. */
const REPLAY_CHUNK = 100;
/**
 * A replay of more events than this is paced: sent a page of this many at a time, each page
 * once the one before has had its share of REPLAY_BYTES_PER_SECOND. Smaller ones go at once.
 */
export const REPLAY_PAGE = 1_000;
/** What the replays of one token (`sub`) send per second, at most, its sockets together. */
export const REPLAY_BYTES_PER_SECOND = 2 * 1024 * 1024;

/** `#readyAt` is first swept of past turns at this many tokens. */
const READY_SWEEP_AT = 1_000;

/** A paced replay under way on one socket: where it is, and what it tells the client. */
type Pacing = {
  /** The seq of the last event sent. */
  since: number;
  sent: number;
  total: number;
  /** The room's seq when `total` was counted; counted again once the log grew. */
  countedAt: number;
  epoch: string;
  admin: boolean;
  id?: string;
};
/** Live events of one push go out in batch frames of at most this many events. */
const LIVE_BATCH = 200;

/** Socket tags of an AccountRoom: readers are agents and admins; crawlers take commands. */
export const READER = "reader";
export const CRAWLER = "crawler";

export class Fanout {
  private readonly replays = new ReplayCache();
  /** Sockets with a paced replay under way: live events skip them, and come to them from the log. */
  readonly #paced = new Map<WebSocket, Pacing>();
  /**
   * When each token (`sub`) may be sent its next replay page: every replay, short or paced,
   * spends the token's REPLAY_BYTES_PER_SECOND, shared by its sockets, so `sync:start` sent
   * again and again, from one socket or many, waits its turn.
   */
  readonly #readyAt = new Map<string, number>();
  /** The size of `#readyAt` at which the tokens whose turn has come are next forgotten. */
  #sweepAt = READY_SWEEP_AT;
  /** Sockets with a timer set for their paced replay's next page (`later`). */
  readonly #waiting = new WeakSet<WebSocket>();
  private readonly returning: ExpectedClients;
  private readonly clients: ClientRegistry;

  /**
   * @param live the open sockets with a tag, those whose token expired closed first (SocketRuntime.sockets)
   * @param gone called when clients expected back after a restart did not return (expected-clients.ts)
   */
  constructor(
    ctx: DurableObjectState,
    private readonly store: RoomStore,
    private readonly live: (tag: string) => WebSocket[],
    gone: () => void = () => {},
  ) {
    this.clients = new ClientRegistry(
      () => ctx.getWebSockets(READER),
      () => this.returning.expected,
    );
    this.returning = new ExpectedClients(ctx.storage, this.clients.registered(), (clients) => {
      this.clients.changed();
      for (const client of clients) this.announce(null, client, "offline");
      gone();
    });
  }

  /**
   * Sends events to the agents' and admins' sockets, in `seq` order, batched. `stored` is
   * the JSON the log holds for them, when the caller has it: the frame sent live is then the
   * very text a replay sends.
   */
  broadcast(events: readonly EventFrame[], stored?: readonly string[]): void {
    const admins = this.live("admin");
    const agents = this.live("agent");
    if (!events.length || (!admins.length && !agents.length)) return;
    const texts = stored ?? events.map((event) => JSON.stringify(event));
    const forAdmins = batches(texts);
    const agentTexts = forAgents(events, texts);
    const agentFrames = agentTexts === texts ? forAdmins : batches(agentTexts);
    const paced = this.#paced;
    for (const ws of admins) if (!paced.has(ws)) for (const frame of forAdmins) send(ws, frame);
    for (const ws of agents) if (!paced.has(ws)) for (const frame of agentFrames) send(ws, frame);
  }

  /** Sends one frame to every crawler socket; false when none is open. */
  toCrawlers(frames: ServerFrame[]): boolean {
    const crawlers = this.live(CRAWLER);
    if (!crawlers.length) return false;
    for (const frame of frames) {
      const text = JSON.stringify(frame);
      for (const ws of crawlers) send(ws, text);
    }
    return true;
  }

  /**
   * Sends the events after `since` in order, as batches with `sync:progress` between them,
   * then `sync:complete`; or `sync:reset` when they can't be given (pruned, other epoch).
   * Up to REPLAY_PAGE events go at once, synchronous from first read to last send, so no live
   * event can slip in between; clients resuming from the same `seq` share one read of the log
   * (replay-cache.ts). More are paced (`pace`), never refused, and so is a replay asked for
   * before the socket's last one had its time: every replay spends the socket's byte budget.
   */
  replay(ws: WebSocket, since: number, epoch: string | undefined, admin: boolean, id?: string): void {
    const previous = this.#paced.get(ws);
    if (previous) {
      // One replay per socket: the one under way ends here, and its request is told so.
      this.#paced.delete(ws);
      if (previous.id !== undefined) {
        sendError(ws, new ApiError("conflict", "replay replaced by a later sync:start on this socket"), previous.id);
      }
    }
    const account = this.store.account()!;
    const first = this.store.log.firstEventSeq();
    const gone = since < account.seq && (first === null || since < first - 1);
    if (
      (epoch !== undefined && epoch !== account.epoch) ||
      since > account.seq ||
      gone ||
      !Number.isInteger(since) ||
      since < 0
    ) {
      send(ws, { type: "sync:reset", id, payload: { seq: account.seq, epoch: account.epoch } });
      return;
    }
    const now = Date.now();
    const wait = this.waitFor(ws, now);
    // A socket whose last replay has not had its time waits for it, and is counted only then.
    const total = wait > 0 ? 0 : this.store.log.countEventsAfter(since, admin);
    if (wait > 0 || total > REPLAY_PAGE) {
      const countedAt = wait > 0 ? -1 : account.seq;
      const pacing: Pacing = { since, sent: 0, total, countedAt, epoch: account.epoch, admin, id };
      this.#paced.set(ws, pacing);
      if (wait > 0) this.later(ws, wait);
      else this.pace(ws, pacing);
      return;
    }
    const { batches } = this.replays.frames(`${account.epoch}:${account.seq}`, since, admin, () =>
      this.readReplay(since, admin, total),
    );
    let bytes = 0;
    batches.forEach((batch, i) => {
      send(ws, batch);
      bytes += batch.length;
      if (i < batches.length - 1 || total % REPLAY_CHUNK === 0) {
        send(ws, { type: "sync:progress", id, payload: { sent: (i + 1) * REPLAY_CHUNK, total } });
      }
    });
    send(ws, { type: "sync:complete", id, payload: { seq: account.seq, epoch: account.epoch } });
    this.spend(ws, now, bytes);
  }

  /**
   * One page of a paced replay, read from the log as it is now (events stored since the replay
   * began included, which is why live sends skip the socket), then the next page after the
   * bytes this one sent have had their time; `sync:complete` once a page reaches the end.
   * A socket that closed (or whose token expired) is dropped; a log pruned past the replay,
   * or a new epoch, ends it with `sync:reset`.
   */
  private pace(ws: WebSocket, pacing: Pacing): void {
    this.live(READER); // closes the sockets whose token expired
    if (this.#paced.get(ws) !== pacing) return;
    if (ws.readyState !== WebSocket.OPEN) {
      this.#paced.delete(ws);
      return;
    }
    // Another socket of the token may have spent its budget since this page was timed.
    const wait = this.waitFor(ws, Date.now());
    if (wait > 0) {
      this.later(ws, wait);
      return;
    }
    const account = this.store.account()!;
    const first = this.store.log.firstEventSeq();
    if (
      account.epoch !== pacing.epoch ||
      (pacing.since < account.seq && (first === null || pacing.since < first - 1))
    ) {
      this.#paced.delete(ws);
      send(ws, { type: "sync:reset", id: pacing.id, payload: { seq: account.seq, epoch: account.epoch } });
      return;
    }
    if (account.seq !== pacing.countedAt) {
      pacing.total = pacing.sent + this.store.log.countEventsAfter(pacing.since, pacing.admin);
      pacing.countedAt = account.seq;
    }
    const page = this.store.log.eventPage(pacing.since, pacing.admin, REPLAY_PAGE);
    let bytes = 0;
    for (let i = 0; i < page.texts.length; i += REPLAY_CHUNK) {
      const chunk = page.texts.slice(i, i + REPLAY_CHUNK);
      const batch = batchOf(chunk);
      send(ws, batch);
      bytes += batch.length;
      pacing.sent += chunk.length;
      if (chunk.length === REPLAY_CHUNK) {
        send(ws, { type: "sync:progress", id: pacing.id, payload: { sent: pacing.sent, total: pacing.total } });
      }
    }
    pacing.since = page.last;
    this.spend(ws, Date.now(), bytes);
    if (page.texts.length < REPLAY_PAGE) {
      this.#paced.delete(ws);
      send(ws, { type: "sync:complete", id: pacing.id, payload: { seq: account.seq, epoch: account.epoch } });
      return;
    }
    this.later(ws, spent(bytes));
  }

  /** How long the socket's token must wait before its next replay page, in ms (0: none). */
  private waitFor(ws: WebSocket, now: number): number {
    return Math.max(0, (this.#readyAt.get(attachmentOf(ws).sub) ?? 0) - now);
  }

  /** The socket's token sent `bytes` of replay at `now`. */
  private spend(ws: WebSocket, now: number, bytes: number): void {
    const sub = attachmentOf(ws).sub;
    const from = Math.max(now, this.#readyAt.get(sub) ?? 0);
    // Tokens whose turn has come are forgotten, now and then: a sweep each time the map has
    // doubled, so a herd of N agents costs N steps, not N².
    if (this.#readyAt.size >= this.#sweepAt) {
      for (const [key, at] of this.#readyAt) if (at <= now) this.#readyAt.delete(key);
      this.#sweepAt = Math.max(READY_SWEEP_AT, 2 * this.#readyAt.size);
    }
    this.#readyAt.set(sub, from + spent(bytes));
  }

  /**
   * Runs the socket's paced replay, whichever it is by then, in `ms`. One timer per socket,
   * however often it asks: the runtime allows an object 10,000 at once.
   */
  private later(ws: WebSocket, ms: number): void {
    if (this.#waiting.has(ws)) return;
    this.#waiting.add(ws);
    setTimeout(() => {
      this.#waiting.delete(ws);
      const pacing = this.#paced.get(ws);
      if (pacing) this.pace(ws, pacing);
    }, ms);
  }

  /** The `total` events after `since` as batch frames of REPLAY_CHUNK events each, read once. */
  private readReplay(since: number, admin: boolean, total: number): ReplayFrames {
    const batches: string[] = [];
    let chunk: string[] = [];
    for (const frame of this.store.log.eventsAfter(since, admin)) {
      chunk.push(frame);
      if (chunk.length === REPLAY_CHUNK) {
        batches.push(batchOf(chunk));
        chunk = [];
      }
    }
    if (chunk.length) batches.push(batchOf(chunk));
    return { batches, total };
  }

  /**
   * A socket registered (its attachment already says as whom; `previous` is the id it had
   * registered under before, if any); true when its client was not online before.
   */
  register(ws: WebSocket, attachment: Attachment, previous?: string): boolean {
    return this.clients.add(ws, attachment, previous);
  }

  /** A socket closed; true when it was its registered client's last one, so the client left. */
  unregister(attachment: Attachment): boolean {
    return this.clients.remove(attachment);
  }

  /**
   * The clients registered in the room now, one per `clientId`, ordered by it. After a
   * restart, the clients expected back are listed too (expected-clients.ts).
   */
  online(): OnlineList {
    return this.clients.list();
  }

  /** Keeps who is online in storage, for a restarted room to expect them back. */
  rememberOnline(): void {
    this.returning.save(this.clients.everyone());
  }

  /**
   * Tells every other reader that a client came or went (`status_change`, no seq); not a
   * client coming back after a restart, which every reader still lists. False when nothing
   * was announced, so who is online is as it was.
   */
  presence(from: WebSocket, attachment: Attachment, status: "online" | "offline"): boolean {
    const clientId = attachment.clientId!;
    if (status === "online" && this.returning.returned(clientId)) return false;
    if (status === "offline") this.returning.forget(clientId);
    this.announce(from, { clientId, userId: attachment.sub }, status);
    return true;
  }

  private announce(from: WebSocket | null, client: OnlineClient, status: "online" | "offline"): void {
    const frame = JSON.stringify({ type: "status_change", payload: { ...client, status } } satisfies ServerFrame);
    for (const ws of this.live(READER)) if (ws !== from) send(ws, frame);
  }
}

/** How long `bytes` of replay take of a socket's REPLAY_BYTES_PER_SECOND, in ms. */
function spent(bytes: number): number {
  return Math.ceil((bytes / REPLAY_BYTES_PER_SECOND) * 1000);
}

/** Event texts as frames of at most LIVE_BATCH events each. */
function batches(texts: readonly string[]): string[] {
  const frames: string[] = [];
  for (let i = 0; i < texts.length; i += LIVE_BATCH) frames.push(batchOf(texts.slice(i, i + LIVE_BATCH)));
  return frames;
}
