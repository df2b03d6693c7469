/**
 * The runtime half of both objects' hibernatable sockets, in the spirit of partyserver: the
 * handlers the runtime calls (`fetch` for the upgrade, `webSocketMessage`, `webSocketClose`,
 * `webSocketError`) are written once here, and call an object's two hooks: a valid frame to
 * handle, a socket that went away. Each object holds one runtime; what it keeps in memory (rate
 * buckets, the ids of open sockets) a woken object loses harmlessly or reads again.
 */
import type { z } from "zod";
import type { Config } from "../../config";
import { ApiError } from "../../contract/errors";
import { PING, PONG } from "../../contract/schemas";
import { SocketExpiry } from "./expiry";
import { CLOSE_CODES } from "../../contract/wire";
import { frameTypes } from "../../contract/schemas";
import { attachmentOf, saveAttachment, sendError, SocketLimits } from "./socket";
import type { Identity } from "../../contract/identity";
import type { Attachment } from "./socket";
import { UpgradeRate } from "./upgrade-rate";

/** What an object does with its sockets; everything else is the runtime's. */
export type SocketApp<F> = {
  /** One valid frame from a socket. A thrown ApiError is answered as an `error` frame carrying the frame's id. */
  onFrame(ws: WebSocket, attachment: Attachment, frame: F): void | Promise<void>;
  /** A socket closed or failed; the runtime closes its end afterwards. */
  onClose?(ws: WebSocket, attachment: Attachment): void | Promise<void>;
};

/** `alarmAt`: set when this socket's token expires before every other's; the object's alarm must fire by then. */
export type Accepted = { ok: true; ws: WebSocket; attachment: Attachment; response: Response; alarmAt?: number };
export type Refused = { ok: false; response: Response };

export class SocketRuntime<F extends { type: string; id?: string }> {
  private readonly limits: SocketLimits;
  private readonly types: ReadonlySet<string>;
  private readonly upgrades: UpgradeRate;
  /** Closes the sockets whose token expired (expiry.ts). */
  readonly expiry: SocketExpiry;

  constructor(
    private readonly ctx: DurableObjectState,
    config: Config,
    private readonly schema: z.ZodDiscriminatedUnion,
    private readonly app: SocketApp<F>,
  ) {
    this.limits = new SocketLimits(ctx, config);
    this.types = frameTypes(schema);
    this.upgrades = new UpgradeRate(config.upgradesPerSecond);
    this.expiry = new SocketExpiry(ctx);
    // Answered by the runtime itself: a heartbeat never wakes a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /**
   * Admits an upgrade the Worker authenticated, under the connection limits and the object's
   * upgrade rate, and accepts it as a hibernatable socket with `tags` (plus the token's own
   * tag) and a fresh attachment.
   * @example
   * const accepted = this.sockets.accept(identity, ["agent"]);
   * if (!accepted.ok) return accepted.response;
   */
  accept(identity: Identity, tags: string[], fields: Pick<Attachment, "clientId"> = {}): Accepted | Refused {
    const refused = this.limits.admit(identity);
    if (refused) return { ok: false, response: refused };
    const waitMs = this.upgrades.take();
    if (waitMs > 0) return { ok: false, response: shed(waitMs) };
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const attachment: Attachment = {
      id: crypto.randomUUID(),
      sub: identity.sub,
      role: identity.role,
      exp: identity.exp,
      ...(fields.clientId ? { clientId: fields.clientId } : {}),
    };
    // Before it is accepted: the expiry's first read after a wake must not count it already.
    const now = Date.now();
    const earliest = this.expiry.opened(identity.exp * 1000, now);
    this.ctx.acceptWebSocket(server, [...tags, SocketLimits.tag(identity)]);
    saveAttachment(server, attachment);
    this.limits.opened(attachment);
    const response = new Response(null, { status: 101, webSocket: client });
    return { ok: true, ws: server, attachment, response, ...(earliest ? { alarmAt: this.expiry.alarmAt(now)! } : {}) };
  }

  /**
   * The open sockets with `tag` (all without one), for a fan-out: those whose token expired
   * are closed first, so no frame reaches them.
   */
  sockets(tag?: string): WebSocket[] {
    this.expiry.due(Date.now());
    return this.ctx.getWebSockets(tag);
  }

  /** For the object's `webSocketMessage`: reads the frame under the limits and hands it to the app. */
  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const received = this.limits.receive(ws, message, this.schema, this.types);
    if (!received) return;
    const frame = received.frame as F;
    try {
      await this.app.onFrame(ws, received.attachment, frame);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      sendError(ws, error, frame.id);
    }
  }

  /** For the object's `webSocketClose`: tells the app, then closes this end quietly. */
  async close(ws: WebSocket, code: number, reason: string): Promise<void> {
    const attachment = attachmentOf(ws);
    this.limits.closed(attachment);
    await this.app.onClose?.(ws, attachment);
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  /** For the object's `webSocketError`: the same as a close. */
  async error(ws: WebSocket): Promise<void> {
    await this.close(ws, 1011, "socket error");
  }
}

/**
 * An upgrade over the object's rate: accepted and closed at once with 1013 and the wait in
 * its reason (PROTOCOL §6), since a browser cannot read a refused upgrade's status or
 * `Retry-After`. Accepted outside hibernation: it never takes a frame.
 */
function shed(waitMs: number): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  server.close(CLOSE_CODES.tryAgainLater, `retry after ${Math.ceil(waitMs / 1000)} s`);
  return new Response(null, { status: 101, webSocket: client });
}
