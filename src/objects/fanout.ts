/**
 * How an AccountRoom's events reach its readers' sockets: live, in batches, admin-only
 * events to admins alone; replayed after a reconnect from the stored log, byte for byte the
 * frames that went out live (ARCHITECTURE principle 4); and who is online.
 */
import type { EventFrame, OnlineClient, ServerFrame } from "../protocol";
import { forAgents } from "./event-frames";
import type { RoomStore } from "./room-store";
import { attachmentOf, batchOf, send } from "./sockets";
import type { Attachment } from "./sockets";

/** Replay sends `sync:progress` after every this many events, each group as one batch frame. */
const REPLAY_CHUNK = 100;
/** Live events of one push go out in batch frames of at most this many events. */
const LIVE_BATCH = 200;

/** `online` lists at most this many clients; `onlineTotal` counts them all (PROTOCOL §11). */
export const MAX_ONLINE_LISTED = 1_000;

/** Socket tags of an AccountRoom: readers are agents and admins; crawlers take commands. */
export const READER = "reader";
export const CRAWLER = "crawler";

export class Fanout {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly store: RoomStore,
  ) {}

  /**
   * Sends events to the agents' and admins' sockets, in `seq` order, batched. `stored` is
   * the JSON the log holds for them, when the caller has it: the frame sent live is then the
   * very text a replay sends.
   */
  broadcast(events: EventFrame[], stored?: string[]): void {
    const admins = this.ctx.getWebSockets("admin");
    const agents = this.ctx.getWebSockets("agent");
    if (!events.length || (!admins.length && !agents.length)) return;
    const texts = stored ?? events.map((event) => JSON.stringify(event));
    const forAdmins = batches(texts);
    const agentTexts = forAgents(events, texts);
    const agentFrames = agentTexts === texts ? forAdmins : batches(agentTexts);
    for (const ws of admins) for (const frame of forAdmins) send(ws, frame);
    for (const ws of agents) for (const frame of agentFrames) send(ws, frame);
  }

  /** Sends one frame to every crawler socket; false when none is open. */
  toCrawlers(frames: ServerFrame[]): boolean {
    const crawlers = this.ctx.getWebSockets(CRAWLER);
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
   * Synchronous from first read to last send, so no live event can slip in between.
   */
  replay(ws: WebSocket, since: number, epoch: string | undefined, admin: boolean, id?: string): void {
    const account = this.store.account()!;
    const first = this.store.firstEventSeq();
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
    const total = this.store.countEventsAfter(since, admin);
    let sent = 0;
    let chunk: string[] = [];
    for (const frame of this.store.eventsAfter(since, admin)) {
      chunk.push(frame);
      if (chunk.length === REPLAY_CHUNK) {
        send(ws, batchOf(chunk));
        sent += chunk.length;
        chunk = [];
        send(ws, { type: "sync:progress", id, payload: { sent, total } });
      }
    }
    if (chunk.length) send(ws, batchOf(chunk));
    send(ws, { type: "sync:complete", id, payload: { seq: account.seq, epoch: account.epoch } });
  }

  /** Whether another open reader socket is registered with this `clientId`. */
  elsewhere(ws: WebSocket, clientId: string): boolean {
    return this.ctx
      .getWebSockets(READER)
      .some(
        (other) => other !== ws && other.readyState === WebSocket.OPEN && attachmentOf(other).clientId === clientId,
      );
  }

  /**
   * The clients registered in the room now, one per `clientId`, ordered by it, read from the
   * sockets' attachments: right after a wake-up from hibernation as before it.
   */
  online(): { online: OnlineClient[]; onlineTotal: number } {
    const open = this.ctx.getWebSockets(READER).filter((ws) => ws.readyState === WebSocket.OPEN);
    return listOnline(open.map(attachmentOf));
  }

  /** Tells every other reader that a client came or went (`status_change`, no seq). */
  presence(from: WebSocket, attachment: Attachment, status: "online" | "offline"): void {
    const frame = JSON.stringify({
      type: "status_change",
      payload: { clientId: attachment.clientId!, userId: attachment.sub, status },
    } satisfies ServerFrame);
    for (const ws of this.ctx.getWebSockets(READER)) if (ws !== from) send(ws, frame);
  }
}

/** The registered clients among some sockets' attachments, one per `clientId` (PROTOCOL §11). */
export function listOnline(attachments: Attachment[]): { online: OnlineClient[]; onlineTotal: number } {
  const byClient = new Map<string, string>();
  for (const { clientId, registered, sub } of attachments) {
    if (registered && clientId && !byClient.has(clientId)) byClient.set(clientId, sub);
  }
  const clientIds = [...byClient.keys()].sort();
  const online = clientIds
    .slice(0, MAX_ONLINE_LISTED)
    .map((clientId) => ({ clientId, userId: byClient.get(clientId)! }));
  return { online, onlineTotal: clientIds.length };
}

/** Event texts as frames of at most LIVE_BATCH events each. */
function batches(texts: string[]): string[] {
  const frames: string[] = [];
  for (let i = 0; i < texts.length; i += LIVE_BATCH) frames.push(batchOf(texts.slice(i, i + LIVE_BATCH)));
  return frames;
}
