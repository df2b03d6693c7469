/**
 * The real backend for Node tests, in this process (`startInProcess` of scripts/backend.ts), plus
 * helpers to make tokens and push snapshots.
 */
import { mintToken, startInProcess } from "../scripts/backend";
import type { TokenOptions as MintOptions } from "../scripts/backend";
import type { Role } from "../src/auth";

/** The tenant defaults to the backend's, the sub to `<role>-1`. */
export type TokenOptions = Pick<MintOptions, "tenant" | "sub" | "accounts" | "ttl">;

/** The §4 snapshot; every list is optional. */
export type Snapshot = Partial<
  Record<"contents" | "comments" | "conversations" | "messages" | "notifications", object[]>
>;

export type PushAnswer = { ok: true; seq: number; counts: Record<string, unknown>; rejected: unknown[] };

export type Backend = {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** The tenant the helpers use unless told otherwise. */
  tenant: string;
  token(role: Role, options?: TokenOptions): Promise<string>;
  /** Pushes a snapshot as a crawler of the tenant; throws unless the backend answers 200. */
  push(accountId: string, snapshot: Snapshot, options?: { tenant?: string; timestamp?: number }): Promise<PushAnswer>;
  /** `fetch` on the backend with a Bearer token of `role`. */
  api(path: string, role: Role, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
};

/**
 * @example
 * const backend = await startBackend();
 * await backend.push("douyin-1", { comments: [{ comment_id: "c1", work_id: "w1", content: "hi" }] });
 * const token = await backend.token("agent");
 * await backend.stop();
 */
export async function startBackend(options: { tenant?: string } = {}): Promise<Backend> {
  const worker = await startInProcess();
  const url = worker.url;
  const tenant = options.tenant ?? "test-tenant";

  function token(role: Role, opts: TokenOptions = {}): Promise<string> {
    return mintToken(role, { ...opts, sub: opts.sub ?? `${role}-1`, tenant: opts.tenant ?? tenant });
  }

  async function api(path: string, role: Role, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await token(role)}`);
    return fetch(`${url}${path}`, { ...init, headers });
  }

  async function push(
    accountId: string,
    snapshot: Snapshot,
    opts: { tenant?: string; timestamp?: number } = {},
  ): Promise<PushAnswer> {
    const response = await fetch(`${url}/api/v1/accounts/${encodeURIComponent(accountId)}/sync`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await token("crawler", { tenant: opts.tenant })}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({
        type: "worker:data:sync",
        accountId,
        platform: "douyin",
        timestamp: opts.timestamp ?? Date.now(),
        snapshot,
      }),
    });
    if (response.status !== 200)
      throw new Error(`push to ${accountId} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as PushAnswer;
  }

  return { url, tenant, token, push, api, stop: worker.stop };
}
