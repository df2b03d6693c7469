/**
 * What both objects are: a Durable Object with hibernatable sockets, in the spirit of
 * partyserver's split between the runtime's handlers and an app's small hooks. The handlers
 * the runtime calls (`webSocketMessage`, `webSocketClose`, `webSocketError`) are written once
 * here; a frame is read under the limits and validated against the object's schema from the
 * contract (runtime.ts), then handed to the object's handler for its type, and a socket that
 * went away to `onSocketClosed`. An object accepts its sockets in `fetch` with
 * `this.sockets.accept`.
 */
import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import { readConfig } from "../../config";
import type { Config } from "../../config";
import { SocketRuntime } from "./runtime";
import type { Attachment } from "./socket";

/** One handler per frame type, each given its frame narrowed to that type. */
export type FrameHandlers<F extends { type: string }> = {
  [T in F["type"]]: (ws: WebSocket, attachment: Attachment, frame: Extract<F, { type: T }>) => void | Promise<void>;
};

export abstract class SocketObject<F extends { type: string; id?: string }> extends DurableObject<Env> {
  protected readonly config: Readonly<Config>;
  protected readonly sockets: SocketRuntime<F>;
  /**
   * The handler of each frame type the schema takes. A thrown ApiError is answered as an
   * `error` frame with the frame's id; anything else is a bug and reaches the runtime.
   */
  protected abstract readonly frames: FrameHandlers<F>;

  constructor(ctx: DurableObjectState, env: Env, schema: z.ZodDiscriminatedUnion) {
    super(ctx, env);
    this.config = readConfig(env);
    this.sockets = new SocketRuntime<F>(ctx, this.config, schema, {
      onFrame: (ws, attachment, frame) => {
        this.admitFrame(attachment, frame);
        const handle = this.frames[frame.type as F["type"]] as (ws: WebSocket, a: Attachment, f: F) => unknown;
        return handle(ws, attachment, frame) as void | Promise<void>;
      },
      onClose: (ws, attachment) => this.onSocketClosed(ws, attachment),
    });
  }

  /** Runs before every frame's handler: throw an ApiError to refuse the frame. */
  protected admitFrame(_attachment: Attachment, _frame: F): void {}

  /** A socket closed or failed; the runtime closes its end afterwards. */
  protected onSocketClosed(_ws: WebSocket, _attachment: Attachment): void | Promise<void> {}

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sockets.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.sockets.close(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.sockets.error(ws);
  }
}
