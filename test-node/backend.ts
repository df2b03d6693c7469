/**
 * The real backend for Node tests: `wrangler`'s `unstable_startWorker` on a free port with a
 * fresh, temporary persist directory, plus helpers to make tokens and push snapshots.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";
import { DEV_AUTH_SECRET, signToken } from "../src/auth";
import type { Role } from "../src/auth";
import { developmentEnvironment } from "./dev-environment";

export type TokenOptions = {
  tenant?: string;
  sub?: string;
  accounts?: string[];
  /** Seconds until it expires; may be negative for an expired token. */
  ttl?: number;
};

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

/** The checkout whose backend runs; `EDGE_BACKEND_ROOT` points elsewhere (e.g. an exported commit). */
const ROOT = process.env.EDGE_BACKEND_ROOT ?? fileURLToPath(new URL("..", import.meta.url));

/**
 * @example
 * const backend = await startBackend();
 * await backend.push("douyin-1", { comments: [{ comment_id: "c1", work_id: "w1", content: "hi" }] });
 * const token = await backend.token("agent");
 * await backend.stop();
 */
export async function startBackend(options: { tenant?: string } = {}): Promise<Backend> {
  const persist = await mkdtemp(join(tmpdir(), "hiscrm-edge-"));
  const worker = await unstable_startWorker({
    config: join(ROOT, "wrangler.toml"),
    // [env.development], as `npm start` runs it: the top level is production.
    env: developmentEnvironment(ROOT),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist,
      logLevel: "error",
      watch: false,
    },
  });
  await worker.ready;
  const url = (await worker.url).origin;
  const tenant = options.tenant ?? "test-tenant";

  async function token(role: Role, opts: TokenOptions = {}): Promise<string> {
    const claims = {
      sub: opts.sub ?? `${role}-1`,
      tid: opts.tenant ?? tenant,
      role,
      exp: Math.floor(Date.now() / 1000) + (opts.ttl ?? 3600),
      ...(opts.accounts ? { accounts: opts.accounts } : {}),
    };
    return signToken(claims, DEV_AUTH_SECRET);
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

  async function stop(): Promise<void> {
    await worker.dispose();
    await rm(persist, { recursive: true, force: true });
  }

  return { url, tenant, token, push, api, stop };
}
