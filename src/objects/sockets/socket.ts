/**
 * The pieces both Durable Objects' sockets are made of: who is on a socket (kept in its
 * attachment, so it survives hibernation), how a frame is read under the limits and how
 * answers are sent. `runtime.ts` puts them together.
 */
import type { z } from "zod";
import type { Config } from "../../config";
import { ApiError } from "../../contract/errors";
import { CLOSE_CODES } from "../../contract/schemas";
import type { Role, ServerFrame } from "../../contract/schemas";
import type { Identity } from "../../contract/identity";
import { RateLimiter } from "../../lib/rate-limiter";

/**
 * Kept in the socket's attachment; everything a woken object needs about it. Only an id and
 * scalars of bounded size: anything that can grow (a token's account list) is kept in the
 * object's SQLite under `id`.
 */
export type Attachment = {
  /** This socket's own id, drawn when it is accepted. */
  id: string;
  sub: string;
  role: Role;
  exp: number;
  clientId?: string;
  registered?: boolean;
};

/**
 * Cloudflare documents 2,048 bytes as the most a socket attachment may hold. Every field is
 * bounded (`sub` and `clientId` at 128 characters), so the largest attachment is ~1.7 KB;
 * this is the guard that keeps it so. The attachment's JSON in UTF-8 is measured: it is never
 * smaller than the structured clone the runtime stores.
 */
export const MAX_ATTACHMENT_BYTES = 2048;

export function attachmentOf(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

/** The socket's registered `clientId`, which acknowledgements are stored under. */
export function requireClientId(attachment: Attachment): string {
  if (!attachment.clientId) {
    throw new ApiError("invalid_frame", "send monitor:register (or connect with ?clientId=) before acknowledging");
  }
  return attachment.clientId;
}

const encoder = new TextEncoder();

/** The size `saveAttachment` holds to `MAX_ATTACHMENT_BYTES`. */
export function attachmentBytes(attachment: Attachment): number {
  return encoder.encode(JSON.stringify(attachment)).length;
}

/** Stores a socket's attachment; one over the platform's limit is a bug here, never the caller's input. */
export function saveAttachment(ws: WebSocket, attachment: Attachment): void {
  const bytes = attachmentBytes(attachment);
  if (bytes > MAX_ATTACHMENT_BYTES) {
    throw new Error(`socket attachment of ${bytes} bytes is over the ${MAX_ATTACHMENT_BYTES}-byte limit`);
  }
  ws.serializeAttachment(attachment);
}

export function send(ws: WebSocket, frame: ServerFrame | string): void {
  try {
    ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  } catch {
    // The socket closed between the list and the send; its close handler cleans up.
  }
}

export function sendError(ws: WebSocket, error: ApiError, id?: string): void {
  send(
    ws,
    id === undefined ? { type: "error", payload: error.payload } : { type: "error", id, payload: error.payload },
  );
}

/** Frames as one `batch` frame (PROTOCOL §6), built from their JSON text without re-parsing. */
export function batchOf(frames: string[]): string {
  return frames.length === 1 ? frames[0]! : `{"type":"batch","payload":{"frames":[${frames.join(",")}]}}`;
}

export type Incoming<T> = { ok: true; frame: T } | { ok: false; error: ApiError; id?: string; close?: number };

/**
 * Reads one client frame: size, JSON, known type, payload shape, token expiry. Never throws;
 * the caller answers a failure with an `error` frame (or closes, for an oversized frame).
 */
export function readFrame<S extends z.ZodType>(
  message: string | ArrayBuffer,
  schema: S,
  types: ReadonlySet<string>,
  attachment: Attachment,
  maxBytes: number,
): Incoming<z.infer<S>> {
  const size =
    typeof message === "string"
      ? message.length * 3 > maxBytes
        ? encoder.encode(message).length
        : message.length
      : message.byteLength;
  if (size > maxBytes) {
    return {
      ok: false,
      error: new ApiError("payload_too_large", `frame is larger than ${maxBytes} bytes`),
      close: CLOSE_CODES.tooBig,
    };
  }
  if (attachment.exp * 1000 <= Date.now()) {
    return {
      ok: false,
      error: new ApiError("unauthorized", "token has expired; reconnect with a fresh token"),
      close: CLOSE_CODES.tokenExpired,
    };
  }
  if (typeof message !== "string") {
    return { ok: false, error: new ApiError("invalid_frame", "frames must be JSON text, not binary") };
  }
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, error: new ApiError("invalid_frame", "frame is not valid JSON") };
  }
  const id = typeof (json as { id?: unknown })?.id === "string" ? (json as { id: string }).id : undefined;
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, error: new ApiError("invalid_frame", "frame must be a JSON object {type, id?, payload?}") };
  }
  if (typeof type !== "string" || !types.has(type)) {
    const shown = typeof type === "string" ? JSON.stringify(type.slice(0, 64)) : "missing";
    return {
      ok: false,
      id,
      error: new ApiError("invalid_frame", `type: unknown frame type ${shown}`, [
        { path: "type", message: `unknown frame type ${shown}` },
      ]),
    };
  }
  const parsed = schema.safeParse({ payload: {}, ...json });
  if (!parsed.success) return { ok: false, id, error: ApiError.fromZod("invalid_frame", parsed.error) };
  return { ok: true, frame: parsed.data };
}

/**
 * The limits one object puts on its sockets (docs/OPERATIONS.md): connection attempts per
 * token, open sockets per object and per token, frames per second per socket.
 */
export class SocketLimits {
  private readonly connects: RateLimiter;
  private readonly frames: RateLimiter<WebSocket>;
  #open: Set<string> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly config: Config,
  ) {
    this.connects = new RateLimiter(config.connectsPerMinute, 60_000);
    this.frames = new RateLimiter(config.framesPerSecond, 1_000);
  }

  /** A socket was accepted. */
  opened(attachment: Attachment): void {
    this.open().add(attachment.id);
  }

  /** A socket closed or failed (told once or twice, for an error and then a close). */
  closed(attachment: Attachment): void {
    this.#open?.delete(attachment.id);
  }

  /**
   * The ids of the sockets open on this object, read from the runtime once per wake and kept
   * since: asking the runtime for every socket on each upgrade made a herd of N cost N².
   * A close nobody was told of leaves an id behind, so the count is never low; at the limit
   * it is read again (`recount`).
   */
  private open(): Set<string> {
    this.#open ??= new Set(this.ctx.getWebSockets().map((ws) => attachmentOf(ws).id));
    return this.#open;
  }

  private recount(): number {
    this.#open = null;
    return this.open().size;
  }

  /** The tag that finds a token's sockets on this object. */
  static tag(identity: Pick<Identity, "sub">): string {
    return `sub:${identity.sub}`;
  }

  /** Null when the socket may open; otherwise the 429 to answer instead of a 101. */
  admit(identity: Identity): Response | null {
    const verdict = this.connects.take(identity.sub);
    if (!verdict.ok) {
      return tooMany(
        `too many connection attempts for this token; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
        verdict.retryAfterMs,
      );
    }
    if (this.open().size >= this.config.maxSocketsPerObject && this.recount() >= this.config.maxSocketsPerObject) {
      return tooMany(`this object already holds ${this.config.maxSocketsPerObject} sockets`, 5_000);
    }
    if (this.ctx.getWebSockets(SocketLimits.tag(identity)).length >= this.config.maxSocketsPerToken) {
      return tooMany(`this token already holds ${this.config.maxSocketsPerToken} sockets here; close one first`, 5_000);
    }
    return null;
  }

  /**
   * Reads one client frame under the limits: the frame to handle with its socket's identity,
   * or null when the frame was already answered with an `error` frame (and, for an oversized
   * frame or an expired token, the socket closed).
   */
  receive<S extends z.ZodType>(
    ws: WebSocket,
    message: string | ArrayBuffer,
    schema: S,
    types: ReadonlySet<string>,
  ): { frame: z.infer<S>; attachment: Attachment } | null {
    const allowed = this.frames.take(ws).ok;
    const attachment = attachmentOf(ws);
    const incoming = readFrame(message, schema, types, attachment, this.config.maxFrameBytes);
    if (!allowed && (incoming.ok || !incoming.close)) {
      // A dropped request still gets its id back, so the client can tell which one to retry.
      const limited = new ApiError(
        "rate_limited",
        `more than ${this.config.framesPerSecond} frames per second; frame dropped`,
      );
      sendError(ws, limited, incoming.ok ? (incoming.frame as { id?: string }).id : incoming.id);
      return null;
    }
    if (!incoming.ok) {
      sendError(ws, incoming.error, incoming.id);
      if (incoming.close) ws.close(incoming.close, incoming.error.message);
      return null;
    }
    return { frame: incoming.frame, attachment };
  }
}

function tooMany(message: string, retryAfterMs: number): Response {
  const error = new ApiError("rate_limited", message, undefined, retryAfterMs);
  return Response.json({ error: error.payload }, { status: 429, headers: error.headers });
}
