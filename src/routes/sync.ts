import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { BODY_LIMITS, limitBody } from "../http/body-limit";
import { packPush } from "../contract/push-pack";
import { ITEM_KINDS, crawlerReport, parseItems, pushEnvelope } from "../contract/snapshot";
import { roomStub } from "../stubs";
import { parseBody } from "../http/validate";

/**
 * `POST /api/v1/accounts/:accountId/sync`: the crawler's snapshot push (PROTOCOL §4), and
 * `POST …/health`: its sign of life when it has nothing to push (§10).
 */
export const sync = new Hono<AppEnv>()
  .post("/:accountId/health", authenticate(["crawler"]), limitBody(BODY_LIMITS.health), async function reportHealth(c) {
    const { claims, accountId } = accountParam(c);
    const report = parseBody(crawlerReport, await c.req.text());
    const health = unwrap(
      await roomStub(c.env, claims.tid, accountId).health(claims.tid, claims.sub, accountId, report),
    );
    return c.json({ ok: true, health });
  })
  .post(
    "/:accountId/sync",
    authenticate(["crawler"]),
    limitBody((c) => c.get("config").maxPushBytes, "; split the snapshot into several pushes"),
    async function pushSnapshot(c) {
      const { claims, accountId } = accountParam(c);
      const envelope = parseBody(pushEnvelope, await c.req.text());
      if (envelope.accountId !== accountId) {
        const message = `must equal the account in the URL (${accountId})`;
        throw new ApiError("invalid_body", `accountId: ${message}`, [{ path: "accountId", message }]);
      }
      const parsed = parseItems(envelope, Date.now());
      const result = unwrap(
        await roomStub(c.env, claims.tid, accountId).push(claims.tid, claims.sub, packPush(parsed)),
      );
      const counts = Object.fromEntries(
        ITEM_KINDS.filter((kind) => envelope.snapshot[kind] !== undefined).map((kind) => [kind, result.counts[kind]]),
      );
      // What failed validation here, and what the room refused (an id already used by another kind…), in item order.
      const rejected = [...parsed.rejected, ...result.rejected].sort((a, b) =>
        a.kind === b.kind ? a.index - b.index : a.kind < b.kind ? -1 : 1,
      );
      return c.json({ ok: true, seq: result.seq, counts, rejected });
    },
  );
