import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { unwrap } from "../contract/errors";
import { imContent, imConversation, imDiscussion, imMessage, imUnified } from "../mapping";
import { accountParam, authenticate } from "../http/authenticate";
import { imPageQuery, imUnifiedQuery } from "../contract/http";
import type { Message, Topic } from "../contract/schemas";
import type { ContentItem, ConversationItem } from "../contract/snapshot";
import { roomStub } from "../stubs";
import { parseQuery } from "../http/validate";

const TYPE_KINDS = { comment: "comment", message: "dm" } as const;

type TopicEntry = { topic: Topic; raw: Record<string, unknown> | null };

/** Runs one list query on the account's room and wraps it the way the platform does (§8). */
async function list<Q extends z.infer<typeof imPageQuery>>(
  c: Context<AppEnv>,
  query: Q,
  listName: string,
  request: Parameters<ReturnType<typeof roomStub>["compat"]>[2],
  shape: (item: unknown) => unknown,
) {
  const { claims, accountId } = accountParam(c, query.account_id);
  const result: { items: unknown[]; hasMore: boolean } = unwrap(
    await roomStub(c.env, claims.tid, accountId).compat(claims.tid, accountId, request),
  );
  return c.json({
    data: { [listName]: result.items.map(shape), cursor: query.cursor + result.items.length, has_more: result.hasMore },
    status_code: 0,
  });
}

const agents = authenticate(["agent", "admin"]);

/**
 * The Douyin-style compatibility API of the HisCRM Master (seeds/003): times in seconds,
 * `cursor` / `has_more`, `status_code`. Errors are `{status_code, status_msg}` (see index.ts).
 */
export const im = new Hono<AppEnv>()
  .get("/conversations", agents, async function listConversations(c) {
    const q = parseQuery(imPageQuery, c.req.query());
    return list(c, q, "conversations", { list: "conversations", offset: q.cursor, count: q.count }, (entry) => {
      const { topic, raw } = entry as TopicEntry;
      return imConversation(topic, (raw as ConversationItem | null)?.participant);
    });
  })
  .get("/messages", agents, async function listMessages(c) {
    const q = parseQuery(imPageQuery.extend({ conversation_id: z.string().min(1).max(256) }), c.req.query());
    const request = { list: "messages" as const, conversationId: q.conversation_id, offset: q.cursor, count: q.count };
    return list(c, q, "messages", request, (m) => imMessage(m as Message));
  })
  .get("/discussions", agents, async function listDiscussions(c) {
    const q = parseQuery(imPageQuery, c.req.query());
    const request = { list: "discussions" as const, kinds: ["comment" as const], offset: q.cursor, count: q.count };
    return list(c, q, "discussions", request, (m) => imDiscussion(m as Message));
  })
  .get("/contents", agents, async function listContents(c) {
    const q = parseQuery(imPageQuery, c.req.query());
    return list(c, q, "contents", { list: "contents", offset: q.cursor, count: q.count }, (entry) => {
      const { topic, raw } = entry as TopicEntry;
      // A work known only from its comments has no item yet: show what the topic knows.
      const item = (raw ?? {
        work_id: topic.id,
        title: topic.title === "Untitled work" ? "" : topic.title,
      }) as ContentItem;
      return imContent(item, topic.lastMessageTime);
    });
  })
  .get("/unified-messages", agents, async function listUnifiedMessages(c) {
    const q = parseQuery(imUnifiedQuery, c.req.query());
    const kinds = q.types.map((t) => TYPE_KINDS[t]);
    return list(c, q, "messages", { list: "unified", kinds, offset: q.cursor, count: q.count }, (m) =>
      imUnified(m as Message),
    );
  });
