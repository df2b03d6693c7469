import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { BODY_LIMITS, limitBody } from "../http/body-limit";
import { channelPatch, pageQuery, topicIdSchema, topicPageQuery } from "../contract/http";
import { directoryStub, roomStub } from "../stubs";
import { parseBody, parseQuery } from "../http/validate";

const readers = authenticate(["agent", "admin"]);

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
