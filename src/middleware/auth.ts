/**
 * Authentication and authorisation for every `/api` route but the status (PROTOCOL §2):
 * no or bad token → 401; valid token with the wrong role or account → 403.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { canAccessAccount, DEV_AUTH_SECRET, verifyToken } from "../auth";
import type { Claims, Role } from "../auth";
import { ApiError } from "../errors";
import { accountIdSchema } from "../protocol";

/**
 * The signing secret. Outside production a missing `AUTH_SECRET` falls back to the
 * development default; in production that default, or no secret at all, is refused.
 */
export function authSecret(env: Env): string {
  const secret = env.AUTH_SECRET;
  if (env.ENVIRONMENT === "production" && (!secret || secret === DEV_AUTH_SECRET)) {
    throw new ApiError(
      "internal",
      "AUTH_SECRET is not configured for production (set it with `wrangler secret put AUTH_SECRET`)",
    );
  }
  return secret || DEV_AUTH_SECRET;
}

/** Cloudflare refuses a request whose URL is longer than this (developers.cloudflare.com/workers/platform/limits). */
export const MAX_URL_BYTES = 16 * 1024;

function tokenOf(c: Context<AppEnv>, fromQuery: boolean): string | null {
  const header = c.req.header("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? match[1]! : null;
  }
  if (!fromQuery) return null;
  const token = c.req.query("token") ?? null;
  // Say so here rather than let the platform refuse it without a word: a token with a long
  // `accounts` claim works locally but cannot reach a deployed Worker in the URL.
  if (token && c.env.ENVIRONMENT === "production" && c.req.url.length > MAX_URL_BYTES) {
    const message =
      `the URL is ${c.req.url.length} bytes with its ${token.length}-character token, over the ` +
      `${MAX_URL_BYTES} bytes Cloudflare accepts; use a token with fewer accounts (or none: every account of the tenant)`;
    throw new ApiError("invalid_query", `token: ${message}`, [{ path: "token", message }]);
  }
  return token;
}

/**
 * Requires a valid token whose role is one of `roles`; puts its claims on the context.
 * WebSocket routes also take the token from `?token=` (browsers can't set headers there).
 * @example
 * app.get("/accounts", authenticate(["agent", "admin"]), handler)
 */
export const authenticate = (roles: readonly Role[], { fromQuery = false } = {}): MiddlewareHandler<AppEnv> => {
  return async function authenticate(c, next) {
    const token = tokenOf(c, fromQuery);
    if (!token) {
      throw new ApiError(
        "unauthorized",
        fromQuery ? "missing token (?token= or Authorization: Bearer)" : "missing Authorization: Bearer token",
      );
    }
    const check = await verifyToken(token, authSecret(c.env));
    if (!check.ok) throw new ApiError("unauthorized", check.reason);
    if (!roles.includes(check.claims.role)) {
      throw new ApiError("forbidden", `role ${check.claims.role} cannot use this route (needs ${roles.join(" or ")})`);
    }
    c.set("claims", check.claims);
    await next();
  };
};

/** The `:accountId` of the path, validated and checked against the token's `accounts`. */
export function accountParam(
  c: Context<AppEnv>,
  value = c.req.param("accountId"),
): { claims: Claims; accountId: string } {
  const parsed = accountIdSchema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError("invalid_query", `accountId: ${parsed.error.issues[0]!.message}`, [
      { path: "accountId", message: parsed.error.issues[0]!.message },
    ]);
  }
  const claims = c.get("claims");
  if (!canAccessAccount(claims, parsed.data)) {
    throw new ApiError("forbidden", `account ${parsed.data} is outside this token's accounts`);
  }
  return { claims, accountId: parsed.data };
}
