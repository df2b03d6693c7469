import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { BODY_LIMITS, limitBody } from "../http/body-limit";
import { MAX_TOPICS_PAGE, topicPageFields } from "../contract/schemas";
import { directoryStub, roomStub } from "../stubs";
import { parseBody, parseQuery } from "../http/validate";

const readers = authenticate(["agent", "admin"]);

const channelPatch = z
  .strictObject({
    enabled: z.boolean().optional(),
    isPinned: z.boolean().optional(),
    name: z.string().trim().min(1).max(128).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "give at least one of enabled, isPinned, name" });

/** `before` and `limit` of a newest-first page, from the query string. */
const pageQuery = z.object({
  before: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `limit` and `cursor` of the topic list, from the query string. */
const topicPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_TOPICS_PAGE).optional(),
  cursor: topicPageFields.cursor,
});

const topicIdSchema = z.string().min(1).max(256);

/** The channel list and one account's topics, messages and notifications over HTTP (PROTOCOL §8, §11). */
export const accounts = new Hono<AppEnv>()
  .get("/", readers, async function listChannels(c) {
    const claims = c.get("claims");
    return c.json({ channels: await directoryStub(c.env, claims.tid).channels(claims.accounts) });
  })
  .get("/:accountId/stats", readers, async function accountStats(c) {
    const { claims, accountId } = accountParam(c);
    return c.json(unwrap(await directoryStub(c.env, claims.tid).stats(claims.accounts, accountId)));
  })
  .patch("/:accountId", authenticate(["admin"]), limitBody(BODY_LIMITS.channelPatch), async function patchChannel(c) {
    const { claims, accountId } = accountParam(c);
    const patch = parseBody(channelPatch, await c.req.text());
    const channel = unwrap(await directoryStub(c.env, claims.tid).updateChannel(accountId, patch));
    return c.json({ channel });
  })
  .get("/:accountId/topics", readers, async function listTopics(c) {
    const { claims, accountId } = accountParam(c);
    const query = parseQuery(topicPageQuery, c.req.query());
    const page = unwrap(await roomStub(c.env, claims.tid, accountId).topics(claims.tid, accountId, query));
    return c.json({ channelId: accountId, ...page });
  })
  .get("/:accountId/topics/:topicId/messages", readers, async function listMessages(c) {
    const { claims, accountId } = accountParam(c);
    const topicId = topicIdSchema.safeParse(c.req.param("topicId"));
    if (!topicId.success) throw new ApiError("invalid_query", "topicId: must be 1–256 characters");
    const { before, limit } = parseQuery(pageQuery, c.req.query());
    const room = roomStub(c.env, claims.tid, accountId);
    const page = unwrap(await room.messages(claims.tid, accountId, topicId.data, before, limit));
    return c.json({ channelId: accountId, topicId: topicId.data, ...page });
  })
  .get("/:accountId/notifications", readers, async function listNotifications(c) {
    const { claims, accountId } = accountParam(c);
    const { before, limit } = parseQuery(pageQuery, c.req.query());
    const room = roomStub(c.env, claims.tid, accountId);
    return c.json(unwrap(await room.notifications(claims.tid, accountId, before, limit)));
  });
