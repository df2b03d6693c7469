/**
 * The bodies and query strings of the HTTP routes (PROTOCOL §4–§8, §11), for the routes in
 * src/routes/ to validate with. The push's body is snapshot.ts; the frames are schemas.ts.
 */
import { z } from "zod";
import { accountIdSchema, MAX_TOPICS_PAGE, replyFields, topicPageFields } from "./schemas";

/** `PATCH /accounts/:id`: an admin's settings of a channel. */
export const channelPatch = z
  .strictObject({
    enabled: z.boolean().optional(),
    isPinned: z.boolean().optional(),
    name: z.string().trim().min(1).max(128).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "give at least one of enabled, isPinned, name" });

/** `before` and `limit` of a newest-first page, from the query string. */
export const pageQuery = z.object({
  before: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `limit` and `cursor` of the topic list, from the query string. */
export const topicPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_TOPICS_PAGE).optional(),
  cursor: topicPageFields.cursor,
});

/** A topic's id in a path. */
export const topicIdSchema = z.string().min(1).max(256);

/** `POST …/topics/:topicId/replies`: the reply frame's payload without `topicId`. */
export const replyBody = z.object(replyFields);

/** `GET …/commands?status=`. */
export const listQuery = z.object({ status: z.enum(["pending", "sent", "failed"]).default("pending") });

/** The compatibility API's page (PROTOCOL §8): offset paging by `cursor` and `count`. */
export const imPageQuery = z.object({
  account_id: accountIdSchema,
  count: z.coerce.number().int().min(1).max(100).default(10),
  cursor: z.coerce.number().int().nonnegative().default(0),
});

/** `GET /api/im/unified`: which kinds, as `types=comment,message`. */
export const imUnifiedQuery = imPageQuery.extend({
  types: z
    .string()
    .default("comment,message")
    .transform((text) =>
      text
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(["comment", "message"])).min(1, "give comment, message or both")),
});

/** An AccountRoom socket's query string (PROTOCOL §6.2); `token` is read by the authentication. */
export const roomSocketQuery = z.object({
  since: z.coerce.number().int().nonnegative().optional(),
  clientId: z.string().min(1).max(128).optional(),
  epoch: z.string().min(1).max(64).optional(),
  token: z.string().optional(),
});
