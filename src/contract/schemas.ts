/**
 * The wire contract of PROTOCOL.md §5–§6 as zod schemas, for the server and the tests. The
 * types and constants live in `wire.ts`, which builds nothing at load so a browser bundle
 * (`client/adapter.ts`) can take them without zod; they are re-exported here, so server code
 * reads the whole contract from one module.
 */
import { z } from "zod";
import { cursorSchema } from "./page-cursor";
import {
  ACCOUNT_ID_RE,
  LOGIN_STATUSES,
  MAX_CLIENT_MSG_ID_CHARS,
  MAX_REPLY_CHARS,
  MAX_TOPIC_ID_CHARS,
  MAX_TOPICS_PAGE,
} from "./wire";
import type { Issue, DIRECTORY_FRAME_TYPES, ROOM_FRAME_TYPES } from "./wire";

export * from "./wire";

export const accountIdSchema = z.string().regex(ACCOUNT_ID_RE, "must be 1–128 characters of A–Z a–z 0–9 : _ . -");

/** `before` and `limit` of a newest-first page (messages, notifications). */
export const pageFields = {
  before: z.number().int().nonnegative().optional(),
  limit: z.number().int().min(1).max(200).default(50),
};

/**
 * `limit` and `cursor` of the topic list (PROTOCOL §6.2, §8): without `limit` the list is
 * today's, at most MAX_TOPICS_LISTED newest; `cursor` is a page's `nextCursor`.
 */
export const topicPageFields = {
  limit: z.number().int().min(1).max(MAX_TOPICS_PAGE).optional(),
  cursor: cursorSchema.optional(),
};

// ---------------------------------------------------------------------------
// Client → server frames

const clientId = z.string().min(1).max(128);
const requestId = z.string().min(1).max(128);
const seqSchema = z.number().int().nonnegative();
const topicId = z.string().min(1).max(MAX_TOPIC_ID_CHARS);

const frame = <T extends string, P extends z.ZodType>(type: T, payload: P) =>
  z.object({ type: z.literal(type), id: requestId.optional(), payload });

const monitorRegister = frame(
  "monitor:register",
  z.object({
    clientId,
    clientType: z.enum(["monitor", "admin"]).default("monitor"),
    deviceType: z.string().max(64).optional(),
    appVersion: z.string().max(64).optional(),
  }),
);
const clientRegister = frame(
  "client:register",
  z.object({
    client_id: clientId,
    device_id: z.string().max(128).optional(),
    device_type: z.string().max(64).optional(),
    app_version: z.string().max(64).optional(),
  }),
);

/** Frames a client may send to its tenant's Directory (`/api/v1/ws`). */
export const directoryClientFrame = z.discriminatedUnion("type", [
  monitorRegister,
  clientRegister,
  frame("monitor:request_channels", z.object({}).default({})),
  frame(
    "channel:update",
    z.object({
      channelId: accountIdSchema,
      enabled: z.boolean().optional(),
      isPinned: z.boolean().optional(),
      name: z.string().min(1).max(128).optional(),
    }),
  ),
]);
export type DirectoryClientFrame = z.infer<typeof directoryClientFrame>;

/** The literal `type` values of a discriminated union of frames. */
export function frameTypes(schema: z.ZodDiscriminatedUnion): ReadonlySet<string> {
  return new Set(schema.options.map((option) => (option as z.ZodObject).shape.type.value as string));
}

/**
 * A lone surrogate can only arrive as a `\uD800` escape; stored, it would come back as U+FFFD,
 * and the same reply sent again would no longer match itself (409).
 */
const wellFormed = (text: string) => text.isWellFormed();
const WELL_FORMED = "must be valid Unicode text (it has a lone surrogate)";

/** An agent's reply (PROTOCOL §6.2, §7); the HTTP twin takes the same body without `topicId`. */
export const replyFields = {
  content: z
    .string()
    .refine((text) => text.trim().length > 0, "must not be empty")
    .refine((text) => text.length <= MAX_REPLY_CHARS, `must be at most ${MAX_REPLY_CHARS} characters`)
    .refine(wellFormed, WELL_FORMED),
  replyToId: z.string().min(1).max(256).refine(wellFormed, WELL_FORMED).optional(),
  clientMsgId: z.string().min(1).max(MAX_CLIENT_MSG_ID_CHARS).refine(wellFormed, WELL_FORMED),
};
const replyPayload = z.object({ topicId, ...replyFields });

/** Frames a client may send to an AccountRoom (`/api/v1/accounts/:id/ws`). */
export const roomClientFrame = z.discriminatedUnion("type", [
  monitorRegister,
  frame("monitor:request_topics", z.object(topicPageFields).default({})),
  frame("monitor:request_messages", z.object({ topicId, ...pageFields })),
  frame("monitor:mark_read", z.object({ topicId, seq: seqSchema.optional() })),
  frame("sync:start", z.object({ since: seqSchema, epoch: z.string().max(64).optional() })),
  frame("ack", z.object({ seq: seqSchema })),
  frame("client:notification:ack", z.object({ notification_id: z.string().min(1).max(256) })),
  frame("monitor:reply", replyPayload),
  frame("account:login:start", z.object({}).default({})),
  frame("monitor:request_presence", z.object({}).default({})),
  frame("monitor:request_notifications", z.object(pageFields).default({ limit: 50 })),
]);
export type RoomClientFrame = z.infer<typeof roomClientFrame>;

/** What a client sends as the payload of a frame of type T (before defaults are applied). */
export type ClientPayload<T extends RoomClientFrame["type"] | DirectoryClientFrame["type"]> = Extract<
  z.input<typeof roomClientFrame> | z.input<typeof directoryClientFrame>,
  { type: T }
>["payload"];

/** True when A and B are the same union. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The frame types each schema takes are the wire module's lists, which the client reads.
const _roomTypes: Same<RoomClientFrame["type"], (typeof ROOM_FRAME_TYPES)[number]> = true;
const _directoryTypes: Same<DirectoryClientFrame["type"], (typeof DIRECTORY_FRAME_TYPES)[number]> = true;

// ---------------------------------------------------------------------------
// Server → client frames

/** A crawler's report on a command (PROTOCOL §7). */
export const resultBody = z.object({
  status: z.enum(["sent", "failed"]),
  platformMessageId: z.union([z.string().min(1).max(256), z.number().int().transform(String)]).optional(),
  error: z.string().max(2_000).optional(),
});
/** A QR code as a data: URL or an https URL; at most 512 KiB. */
export const qrcodeBody = z.object({
  image: z
    .string()
    .max(512 * 1024, "must be at most 512 KiB")
    .regex(/^(data:image\/[a-z+.-]+;base64,|https:\/\/)/, "must be a data:image/…;base64, or an https: URL"),
  expiresAt: z
    .number()
    .int()
    .positive()
    .transform((t) => (t < 1e12 ? t * 1000 : t)),
});
/** The crawler's news of the login under way. */
export const loginStatusBody = z.object({
  status: z.enum(LOGIN_STATUSES).exclude(["pending"]),
  error: z.string().max(2_000).optional(),
});

/** Turns zod issues into the `{path, message}` list of PROTOCOL §3. */
export function toIssues(error: z.ZodError, prefix = ""): Issue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    message: i.message,
  }));
}
