/**
 * Asks the backend what it thinks of a token before any socket opens. A refused WebSocket
 * upgrade tells a browser nothing (no status, no body), so an app that wants to say
 * "malformed", "expired" or "this role cannot read" asks over HTTP first.
 */
import { toSocketBase } from "./urls";

/** Why a token was refused: 401 (`malformed` or `expired`), 403 (`forbidden`), or no answer (`unreachable`). */
export type TokenProblem = "malformed" | "expired" | "forbidden" | "unreachable";

export type TokenCheckResult =
  | { ok: true; role: string; tenant: string; subject: string; expiresAt: number }
  | { ok: false; problem: TokenProblem; message: string };

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

function httpBase(url: string): string {
  return toSocketBase(url).replace(/^ws/, "http");
}

/** The claims the server just accepted, read without verifying (the server has). */
function readClaims(token: string): { role: string; tenant: string; subject: string; expiresAt: number } {
  const body = token.split(".")[1] ?? "";
  const json = new TextDecoder().decode(
    Uint8Array.from(atob(body.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
  );
  const claims = JSON.parse(json) as { role?: unknown; tid?: unknown; sub?: unknown; exp?: unknown };
  return {
    role: String(claims.role),
    tenant: String(claims.tid),
    subject: String(claims.sub),
    expiresAt: Number(claims.exp) * 1000,
  };
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === "string") return body.error.message;
  } catch {
    // Not the §3 error shape (a proxy's page): the status says enough.
  }
  return `HTTP ${response.status}`;
}

/**
 * Checks a token with `GET /api/v1/accounts`, the route every reading role may use.
 * @example
 * const check = await checkToken("https://im.example.com", token);
 * if (!check.ok && check.problem === "expired") showForm("token expired");
 */
export async function checkToken(
  url: string,
  token: string,
  options: { fetch?: Fetch } = {},
): Promise<TokenCheckResult> {
  const doFetch = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  let response: Response;
  try {
    response = await doFetch(`${httpBase(url)}/api/v1/accounts`, { headers: { Authorization: `Bearer ${token}` } });
  } catch (error) {
    return { ok: false, problem: "unreachable", message: `the backend did not answer: ${(error as Error).message}` };
  }
  if (response.ok) {
    await response.body?.cancel();
    return { ok: true, ...readClaims(token) };
  }
  const message = await errorMessage(response);
  if (response.status === 403) return { ok: false, problem: "forbidden", message };
  if (response.status === 401)
    return { ok: false, problem: /expired/i.test(message) ? "expired" : "malformed", message };
  return { ok: false, problem: "unreachable", message };
}
