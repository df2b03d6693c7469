/**
 * Authentication and authorisation for every `/api` route but the status (PROTOCOL §2):
 * no or bad token → 401; valid token with the wrong role or account → 403.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env";
import { canAccessAccount, DEV_AUTH_SECRET, verifyToken } from "../auth";
import type { Claims, Role } from "../auth";
import { ApiError } from "../contract/errors";
import { accountIdSchema } from "../contract/schemas";

/** The shortest `AUTH_SECRET` accepted outside a local run, in UTF-8 bytes: the size of HS256's hash, the least RFC 7518 (§3.2) allows. */
export const MIN_SECRET_BYTES = 32;

/**
 * Whether a request came to a name or address no deployed Worker can be reached at: `localhost`
 * and `*.localhost`, `*.test` (RFC 6761 reserved names), a loopback address (127.0.0.0/8, ::1)
 * or a private one (10/8, 172.16/12, 192.168/16: a developer's LAN, a Docker network).
 */
export function isLocalRequest(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".test")) return true;
  if (host === "[::1]") return true;
  const ip = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (!ip) return false;
  const [a, b] = [Number(ip[1]), Number(ip[2])];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** What is wrong with `secret` for a deployed Worker, or null. */
function secretProblem(secret: string | undefined): string | null {
  if (!secret) return "AUTH_SECRET is not set: set it with `wrangler secret put AUTH_SECRET`";
  if (secret === DEV_AUTH_SECRET) {
    return (
      "AUTH_SECRET is the published development secret (DEV_AUTH_SECRET in src/auth.ts), with which " +
      "anyone can sign tokens: set your own with `wrangler secret put AUTH_SECRET`"
    );
  }
  // A string's UTF-8 bytes are at least its UTF-16 length, so only a short one needs counting.
  const bytes = secret.length >= MIN_SECRET_BYTES ? secret.length : new TextEncoder().encode(secret).length;
  if (bytes < MIN_SECRET_BYTES) {
    return (
      `AUTH_SECRET is ${bytes} bytes; it must be at least ${MIN_SECRET_BYTES} ` +
      "(e.g. `openssl rand -base64 32`, set with `wrangler secret put AUTH_SECRET`)"
    );
  }
  return null;
}

/**
 * The signing secret for a request to `url`. A deployed Worker, whatever its `ENVIRONMENT`,
 * needs its own `AUTH_SECRET` of at least 32 bytes: without one, with the published
 * development default, or with a shorter one, every request is refused 503 `misconfigured`
 * naming the setting. Only a development run reached at a local address (`isLocalRequest`) may
 * do without: a missing `AUTH_SECRET` falls back to the development default, and a short one
 * is taken as it is.
 */
export function authSecret(env: Env, url: string): string {
  const secret = env.AUTH_SECRET;
  const problem = secretProblem(secret);
  if (!problem) return secret!;
  if (env.ENVIRONMENT === "development" && isLocalRequest(url)) return secret || DEV_AUTH_SECRET;
  const where =
    env.ENVIRONMENT === "development"
      ? " (ENVIRONMENT is development, which does without a secret of its own only for requests to " +
        "localhost, *.localhost, *.test or a loopback or private address; `wrangler dev` reached at " +
        "another name takes one from .dev.vars)"
      : "";
  throw new ApiError("misconfigured", problem + where);
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
    const check = await verifyToken(token, authSecret(c.env, c.req.url));
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
