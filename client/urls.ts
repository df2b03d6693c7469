/**
 * Socket addresses (PROTOCOL §6) and the unverified token claims the adapter reads to
 * scope its storage keys and account list. The server verifies the token; the client
 * only reads it.
 */

/**
 * A base address in any of the forms an app keeps (`http://`, `https://`, `ws://`,
 * `wss://`, with or without a trailing slash) as a WebSocket base.
 * @example
 * toSocketBase("https://im.example.com/") // "wss://im.example.com"
 */
export function toSocketBase(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, "");
  if (/^wss?:\/\//i.test(trimmed)) return trimmed;
  if (/^https:\/\//i.test(trimmed)) return `wss://${trimmed.slice("https://".length)}`;
  if (/^http:\/\//i.test(trimmed)) return `ws://${trimmed.slice("http://".length)}`;
  throw new TypeError(`connect: "${url}" is not an http(s):// or ws(s):// address`);
}

function withQuery(url: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}

/**
 * The Directory socket of the token's tenant.
 * @example
 * directoryUrl("ws://127.0.0.1:8787", { token }) // "ws://127.0.0.1:8787/api/v1/ws?token=…"
 */
export function directoryUrl(base: string, query: { token: string }): string {
  return withQuery(`${base}/api/v1/ws`, query);
}

/**
 * One account's socket.
 * @example
 * accountUrl(base, "douyin-1", { token, clientId: "pc-1", since: 42 })
 */
export function accountUrl(
  base: string,
  accountId: string,
  query: { token: string; clientId?: string; since?: number; epoch?: string },
): string {
  return withQuery(`${base}/api/v1/accounts/${encodeURIComponent(accountId)}/ws`, query);
}

/** The claims of a token the adapter cares about; empty when it cannot read them. */
export type TokenClaims = { tid?: string; accounts?: string[] };

/**
 * Whether the token lets its holder open the account: a token without `accounts` allows all.
 * @example
 * claimsAllow({ accounts: ["a"] }, "b") // false
 */
export function claimsAllow(claims: TokenClaims, accountId: string): boolean {
  return !claims.accounts || claims.accounts.includes(accountId);
}

/**
 * Reads (without verifying) the tenant and the allowed accounts of a JWT.
 * @example
 * readTokenClaims(token).tid // "acme"
 */
export function readTokenClaims(token: string): TokenClaims {
  const body = token.split(".")[1];
  if (!body) return {};
  try {
    const base64 = body.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json) as { tid?: unknown; accounts?: unknown };
    const result: TokenClaims = {};
    if (typeof claims.tid === "string") result.tid = claims.tid;
    if (Array.isArray(claims.accounts))
      result.accounts = claims.accounts.filter((a): a is string => typeof a === "string");
    return result;
  } catch {
    return {};
  }
}
