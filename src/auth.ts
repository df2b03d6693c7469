/**
 * HS256 JSON Web Tokens (PROTOCOL §2), on WebCrypto so the same code runs in workerd,
 * in Node (the token script, the tests) and in a browser.
 */
import { z } from "zod";
import { ACCOUNT_ID_RE, ROLES } from "./contract/schemas";
import type { Role } from "./contract/schemas";

/** The roles live in the contract; token code reads them from here. */
export { ROLES };
export type { Role };

/**
 * The secret `wrangler dev` and the tests use when `.dev.vars` sets none. It is public: only a
 * development run reached at a local address accepts it (`authSecret` in src/http/authenticate.ts);
 * a deployed Worker, whatever its ENVIRONMENT, refuses it.
 */
export const DEV_AUTH_SECRET = "dev-only-insecure-secret-change-me";

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  tid: z.string().regex(ACCOUNT_ID_RE, "must be 1–128 characters of A–Z a–z 0–9 : _ . -"),
  role: z.enum(ROLES),
  exp: z.number().int(),
  iat: z.number().int().optional(),
  accounts: z.array(z.string().regex(ACCOUNT_ID_RE)).max(200).optional(),
});
export type Claims = z.infer<typeof claimsSchema>;

export type TokenCheck = { ok: true; claims: Claims } | { ok: false; reason: string };

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  try {
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function decodeJson(part: string): unknown {
  const bytes = fromBase64url(part);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/**
 * Signs claims into a token.
 * @example
 * await signToken({ sub: "alice", tid: "acme", role: "agent", exp: now + 3600 }, secret)
 */
export async function signToken(claims: Claims, secret: string): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = base64url(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${header}.${body}`));
  return `${header}.${body}.${base64url(new Uint8Array(signature))}`;
}

/** How many verified tokens are kept per secret (the oldest goes first). */
const VERIFIED_TOKENS = 1024;
/**
 * Tokens whose signature and claims were verified, by secret: a client presents the same token
 * on every request and upgrade until it expires, and its HMAC, base64 and claim checks were a
 * tenth of a one-comment push's CPU. Only the expiry depends on the moment; it is checked on
 * every use. The claims are frozen: every request that presents the token shares them.
 */
const verified = new Map<string, Map<string, Claims>>();

function remember(secret: string, token: string, claims: Claims): void {
  let tokens = verified.get(secret);
  if (!tokens) verified.set(secret, (tokens = new Map()));
  if (tokens.size >= VERIFIED_TOKENS) tokens.delete(tokens.keys().next().value!);
  Object.freeze(claims.accounts);
  tokens.set(token, Object.freeze(claims));
}

/** Verifies signature, algorithm, expiry and claim shapes; never throws. */
export async function verifyToken(token: string, secret: string, nowSeconds = Date.now() / 1000): Promise<TokenCheck> {
  const known = verified.get(secret)?.get(token);
  if (known) return known.exp <= nowSeconds ? { ok: false, reason: "token has expired" } : { ok: true, claims: known };
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "token is not a JWT" };
  const [headerPart, bodyPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart) as { alg?: unknown } | null;
  // Only HS256: "none" and every other algorithm are refused before any signature check.
  if (!header || header.alg !== "HS256") return { ok: false, reason: "token algorithm must be HS256" };
  const signature = fromBase64url(signaturePart);
  if (!signature || signature.length !== 32) return { ok: false, reason: "token signature is invalid" };
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    signature,
    encoder.encode(`${headerPart}.${bodyPart}`),
  );
  if (!valid) return { ok: false, reason: "token signature is invalid" };
  const parsed = claimsSchema.safeParse(decodeJson(bodyPart));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `token claim ${issue.path.join(".") || "body"}: ${issue.message}` };
  }
  if (parsed.data.exp <= nowSeconds) return { ok: false, reason: "token has expired" };
  remember(secret, token, parsed.data);
  return { ok: true, claims: parsed.data };
}

/** Whether the claims allow this account (absent `accounts` = every account of the tenant). */
export function canAccessAccount(claims: Claims, accountId: string): boolean {
  return !claims.accounts || claims.accounts.includes(accountId);
}
