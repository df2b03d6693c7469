import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { ApiError, unwrap } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { BODY_LIMITS, limitBody } from "../http/body-limit";
import { packPush } from "../contract/push-pack";
import { describeIssues } from "../contract/schemas";
import { ITEM_KINDS, crawlerReport, parseItems, pushEnvelope, unknownKeys } from "../contract/snapshot";
import { roomStub } from "../stubs";
import { parseBody, parseJson, parseValue } from "../http/validate";

/**
 * Whether the crawler asked for strict handling (RFC 7240, `Prefer: handling=strict`): an
 * unknown key of the push is then a 400 instead of a warning.
 */
function prefersStrict(prefer: string | undefined): boolean {
  return (prefer ?? "").split(",").some((preference) => /^\s*handling\s*=\s*"?strict"?\s*$/i.test(preference));
}

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
      const json = parseJson(await c.req.text());
      const warnings = unknownKeys(json);
      if (warnings.length && prefersStrict(c.req.header("prefer"))) {
        throw new ApiError(
          "invalid_body",
          `unknown keys (Prefer: handling=strict): ${describeIssues(warnings)}`,
          warnings,
        );
      }
      const envelope = parseValue(pushEnvelope, json);
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
      return c.json({ ok: true, seq: result.seq, counts, rejected, warnings });
    },
  );
