import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { BODY_LIMITS, limitBody } from "../http/body-limit";
import { listQuery, replyBody } from "../contract/http";
import { loginStatusBody, qrcodeBody, resultBody } from "../contract/schemas";
import { roomStub } from "../stubs";
import { parseBody, parseQuery } from "../http/validate";

const idParam = (value: string | undefined, name: string): string => {
  if (!value || value.length > 256) throw new ApiError("invalid_query", `${name}: must be 1–256 characters`);
  return value;
};

/** Replies and logins: agents and admins ask, the crawler carries out (PROTOCOL §7). */
export const commands = new Hono<AppEnv>()
  .post(
    "/:accountId/topics/:topicId/replies",
    authenticate(["agent", "admin"]),
    limitBody(BODY_LIMITS.reply),
    async function postReply(c) {
      const { claims, accountId } = accountParam(c);
      const topicId = idParam(c.req.param("topicId"), "topicId");
      const body = parseBody(replyBody, await c.req.text());
      const room = roomStub(c.env, claims.tid, accountId);
      const answer = unwrap(await room.reply(claims.tid, accountId, { ...body, topicId }, claims.sub));
      return c.json({ message: answer.message }, answer.created ? 201 : 200);
    },
  )
  .get("/:accountId/commands", authenticate(["crawler"]), async function listCommands(c) {
    const { claims, accountId } = accountParam(c);
    const { status } = parseQuery(listQuery, c.req.query());
    return c.json({
      commands: unwrap(await roomStub(c.env, claims.tid, accountId).listCommands(claims.tid, accountId, status)),
    });
  })
  .post(
    "/:accountId/commands/:id/result",
    authenticate(["crawler"]),
    limitBody(BODY_LIMITS.commandResult),
    async function postResult(c) {
      const { claims, accountId } = accountParam(c);
      const id = idParam(c.req.param("id"), "id");
      const body = parseBody(resultBody, await c.req.text());
      const command = unwrap(
        await roomStub(c.env, claims.tid, accountId).commandResult(claims.tid, accountId, id, body),
      );
      return c.json({ command });
    },
  )
  .post("/:accountId/login", authenticate(["admin"]), async function startLogin(c) {
    const { claims, accountId } = accountParam(c);
    return c.json(
      { command: unwrap(await roomStub(c.env, claims.tid, accountId).startLogin(claims.tid, accountId)) },
      202,
    );
  })
  .post("/:accountId/qrcode", authenticate(["crawler"]), limitBody(BODY_LIMITS.qrcode), async function postQrcode(c) {
    const { claims, accountId } = accountParam(c);
    const body = parseBody(qrcodeBody, await c.req.text());
    const seq = unwrap(
      await roomStub(c.env, claims.tid, accountId).qrcode(claims.tid, accountId, body.image, body.expiresAt),
    );
    return c.json({ ok: true, seq });
  })
  .post(
    "/:accountId/login/status",
    authenticate(["crawler"]),
    limitBody(BODY_LIMITS.loginStatus),
    async function postLoginStatus(c) {
      const { claims, accountId } = accountParam(c);
      const body = parseBody(loginStatusBody, await c.req.text());
      const seq = unwrap(
        await roomStub(c.env, claims.tid, accountId).loginStatus(claims.tid, accountId, body.status, body.error),
      );
      return c.json({ ok: true, seq });
    },
  );
