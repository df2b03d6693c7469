import { Hono } from "hono";
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { ApiError } from "../contract/errors";
import { accountParam, authenticate } from "../http/authenticate";
import { IDENTITY_HEADER } from "../contract/identity";
import type { Identity } from "../contract/identity";
import { directoryStub, roomStub } from "../stubs";
import { parseQuery } from "../http/validate";
import { roomSocketQuery } from "../contract/http";

function requireUpgrade(c: Context<AppEnv>): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("invalid_query", "this route takes a WebSocket upgrade (Upgrade: websocket)");
  }
}

/**
 * The upgrade handed to the object: only what the Worker verified travels on, in a header
 * the Worker sets itself (objects are not reachable from outside but through here).
 */
function forward(c: Context<AppEnv>, params: Record<string, string | undefined>): Request {
  const claims = c.get("claims");
  const identity: Identity = {
    sub: claims.sub,
    tid: claims.tid,
    role: claims.role,
    exp: claims.exp,
    accounts: claims.accounts,
  };
  const url = new URL("https://object.internal/ws");
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return new Request(url, { headers: { Upgrade: "websocket", [IDENTITY_HEADER]: JSON.stringify(identity) } });
}

/** The two WebSocket endpoints of PROTOCOL §6; auth failures answer with a status, never a 101. */
export const ws = new Hono<AppEnv>()
  .get("/ws", authenticate(["agent", "admin"], { fromQuery: true }), async function directorySocket(c) {
    requireUpgrade(c);
    return directoryStub(c.env, c.get("claims").tid).fetch(forward(c, {}));
  })
  .get(
    "/accounts/:accountId/ws",
    authenticate(["agent", "admin", "crawler"], { fromQuery: true }),
    async function roomSocket(c) {
      const { claims, accountId } = accountParam(c);
      const query = parseQuery(roomSocketQuery, c.req.query());
      requireUpgrade(c);
      return roomStub(c.env, claims.tid, accountId).fetch(
        forward(c, { accountId, since: query.since?.toString(), clientId: query.clientId, epoch: query.epoch }),
      );
    },
  );
