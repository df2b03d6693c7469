import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { ApiError, unwrap } from "../errors";
import { accountParam, authenticate } from "../middleware/auth";
import { ITEM_KINDS, parseItems, pushEnvelope } from "../snapshot";
import { roomStub } from "../stubs";
import { parseBody } from "../validate";

export const MAX_PUSH_BYTES = 16 * 1024 * 1024;

/** `POST /api/v1/accounts/:accountId/sync`: the crawler's snapshot push (PROTOCOL §4). */
export const sync = new Hono<AppEnv>().post(
  "/:accountId/sync",
  authenticate(["crawler"]),
  bodyLimit({
    maxSize: MAX_PUSH_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", "body is larger than 16 MiB; split the snapshot into several pushes");
    },
  }),
  async function pushSnapshot(c) {
    const { claims, accountId } = accountParam(c);
    const envelope = parseBody(pushEnvelope, await c.req.text());
    if (envelope.accountId !== accountId) {
      const message = `must equal the account in the URL (${accountId})`;
      throw new ApiError("invalid_body", `accountId: ${message}`, [{ path: "accountId", message }]);
    }
    const push = parseItems(envelope, Date.now());
    const result = unwrap(await roomStub(c.env, claims.tid, accountId).push(claims.tid, push));
    const counts = Object.fromEntries(
      ITEM_KINDS.filter((kind) => envelope.snapshot[kind] !== undefined).map((kind) => [kind, result.counts[kind]]),
    );
    return c.json({ ok: true, seq: result.seq, counts, rejected: result.rejected });
  },
);
