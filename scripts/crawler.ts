/**
 * `npm run crawler -- [--url http://127.0.0.1:8787] [--tenant demo] [--interval 3] [--once] [--accounts a,b] [--seed s]`
 *
 * A simulated crawler: every few seconds it re-scrapes a window of each account (the latest
 * works, comments, DMs, notifications) and pushes it as a full snapshot (PROTOCOL §4).
 *
 * What it scrapes comes from the simulated world in `./crawler/world.ts`, a pure function of
 * (seed, account, time); this file is the command line, the push loop and what it prints.
 */
import { ACCOUNT_ID_RE } from "../src/protocol";
import { isMain, parseBaseUrl, parseFlags, runMain, sleep, UsageError } from "./cli";
import { devSecret, mintToken, parseAccountList } from "./token";
import { DEFAULT_SEED, generateSnapshot, simAccount } from "./crawler/world";
import type { SimAccount, SnapshotBody } from "./crawler/world";

export const CRAWLER_USAGE = `usage: npm run crawler -- [--url <base>] [--tenant <tid>] [--interval <seconds>] [--once] [--accounts a,b] [--seed <text>]

  --url       the backend (default http://127.0.0.1:8787)
  --tenant    tenant to push into (default demo)
  --interval  seconds between pushes (default 3)
  --once      push one snapshot per account and exit (non-zero if a push failed)
  --accounts  account ids to simulate (default douyin-1001,douyin-2002)
  --seed      seed of the simulated world (default hiscrm); same seed, same content`;

export const DEFAULT_ACCOUNTS = ["douyin-1001", "douyin-2002"];

export type CrawlerOptions = {
  url: string;
  tenant: string;
  intervalMs: number;
  once: boolean;
  accounts: string[];
  seed: string;
};

const CRAWLER_FLAGS = {
  url: "string",
  tenant: "string",
  interval: "string",
  once: "boolean",
  accounts: "string",
  seed: "string",
} as const;

/** Parses the crawler's arguments (see CRAWLER_USAGE). */
export function parseCrawlerArgs(argv: readonly string[]): CrawlerOptions {
  const { flags } = parseFlags(argv, CRAWLER_FLAGS);
  const tenant = flags.tenant ?? "demo";
  if (!ACCOUNT_ID_RE.test(tenant))
    throw new UsageError(`--tenant must be 1–128 characters of A–Z a–z 0–9 : _ . - (got ${JSON.stringify(tenant)})`);
  const interval = flags.interval === undefined ? 3 : Number(flags.interval);
  if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
    throw new UsageError(
      `--interval must be a number of seconds from 0.1 to 3600 (got ${JSON.stringify(flags.interval)})`,
    );
  }
  return {
    url: parseBaseUrl(flags.url ?? "http://127.0.0.1:8787"),
    tenant,
    intervalMs: Math.round(interval * 1000),
    once: flags.once ?? false,
    accounts: flags.accounts === undefined ? DEFAULT_ACCOUNTS : parseAccountList(flags.accounts, "--accounts"),
    seed: flags.seed ?? DEFAULT_SEED,
  };
}

type KindCounts = { received: number; new: number; updated: number };
export type PushResponse = {
  ok: true;
  seq: number;
  counts: Partial<Record<keyof SnapshotBody["snapshot"], KindCounts>>;
  rejected: { kind: string; index: number; issues: { path: string; message: string }[] }[];
};

const NOUNS: Record<keyof SnapshotBody["snapshot"], [string, string]> = {
  contents: ["work", "works"],
  comments: ["comment", "comments"],
  conversations: ["conversation", "conversations"],
  messages: ["DM", "DMs"],
  notifications: ["notification", "notifications"],
};

/** "douyin-1001 Brand A   seq 57   new 2 comments, 1 DM   updated 3" — one push, one line. */
export function describePush(account: SimAccount, response: PushResponse): string {
  const fresh: string[] = [];
  let updated = 0;
  for (const [kind, [one, many]] of Object.entries(NOUNS) as [keyof typeof NOUNS, [string, string]][]) {
    const counts = response.counts[kind];
    if (!counts) continue;
    if (counts.new) fresh.push(`${counts.new} ${counts.new === 1 ? one : many}`);
    updated += counts.updated;
  }
  const parts = [`${account.id} ${account.name}`.padEnd(22), `seq ${String(response.seq).padStart(5)}`];
  if (fresh.length) parts.push(`new ${fresh.join(", ")}`);
  if (updated) parts.push(`updated ${updated}`);
  if (!fresh.length && !updated) parts.push("no changes");
  if (response.rejected.length) {
    const first = response.rejected[0]!;
    const issue = first.issues[0];
    parts.push(
      `⚠ ${response.rejected.length} rejected (${first.kind}[${first.index}]${issue ? `.${issue.path}: ${issue.message}` : ""})`,
    );
  }
  return parts.join("   ");
}

export type CrawlerRun = {
  /** Where the lines go (default console.log). */
  log?: (line: string) => void;
  /** Stops the crawler (between pushes, or aborting the one in flight). */
  signal?: AbortSignal;
  /** The signing secret (default: the local development secret, as `npm run token` finds it). */
  secret?: string;
  /** In `once` mode, how long to wait for a backend that is not up yet (default 60 s). */
  waitMs?: number;
  /** How often to try again while the backend is not up (default 2 s). */
  retryMs?: number;
  /** Called after every successful push. */
  onPush?: (account: SimAccount, response: PushResponse) => void;
};

class PushError extends Error {}
/**
 * 502, 503 or 504: no backend behind the address right now. `wrangler dev` answers 503 while it
 * reloads, and its local proxy now and then with "Your worker restarted mid-request". A push
 * sent again is harmless (a repeated snapshot changes nothing), so these are waited out.
 */
class UnavailableError extends PushError {}

function timeOfDay(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** Why a fetch never got an answer, in words: "connection refused" rather than "fetch failed". */
function unreachableReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof UnavailableError) return error.message;
  if (cause?.code === "ECONNREFUSED") return "connection refused";
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function pushOnce(url: string, token: string, body: SnapshotBody, signal?: AbortSignal): Promise<PushResponse> {
  const response = await fetch(`${url}/api/v1/accounts/${encodeURIComponent(body.accountId)}/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: shown below as it came.
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    let message = `HTTP ${response.status}${error?.code ? ` ${error.code}` : ""}: ${error?.message ?? text.slice(0, 200)}`;
    if (response.status === 401)
      message += " (does the crawler sign with the backend's AUTH_SECRET? see docs/RUNNING.md)";
    throw new ([502, 503, 504].includes(response.status) ? UnavailableError : PushError)(message);
  }
  return json as PushResponse;
}

/**
 * Pushes snapshots of every account until `signal` aborts (or once, with `once`). Waits for a
 * backend that is not up yet, saying so once. Resolves to whether every push succeeded.
 */
export async function runCrawler(options: CrawlerOptions, run: CrawlerRun = {}): Promise<boolean> {
  const { log = console.log, signal, waitMs = 60_000, retryMs = 2_000, onPush } = run;
  const secret = run.secret ?? devSecret().secret;
  const accounts = options.accounts.map((id, index) => simAccount(id, index));
  let allOk = true;
  let unreachableSince: number | null = null;
  while (!signal?.aborted) {
    const token = await mintToken({ role: "crawler", tenant: options.tenant, sub: "crawler-sim", ttl: 3600 }, secret);
    let retry = false;
    for (const account of accounts) {
      if (signal?.aborted) break;
      try {
        const response = await pushOnce(
          options.url,
          token,
          generateSnapshot(account, Date.now(), options.seed),
          signal,
        );
        if (unreachableSince !== null) log(`${timeOfDay()}  backend is up`);
        unreachableSince = null;
        log(`${timeOfDay()}  ${describePush(account, response)}`);
        onPush?.(account, response);
      } catch (error) {
        if (signal?.aborted) break;
        if (error instanceof PushError && !(error instanceof UnavailableError)) {
          allOk = false;
          log(`${timeOfDay()}  ${account.id} push failed: ${error.message}`);
          continue;
        }
        // No answer, or no backend behind the address: it is not up (yet). Say so once, then keep trying.
        if (unreachableSince === null) {
          unreachableSince = Date.now();
          log(
            `${timeOfDay()}  waiting for the backend at ${options.url} (${unreachableReason(error)}); retrying every ${retryMs / 1000} s…`,
          );
        }
        if (options.once && Date.now() - unreachableSince > waitMs) {
          log(`${timeOfDay()}  gave up: no backend at ${options.url} after ${Math.round(waitMs / 1000)} s`);
          return false;
        }
        retry = true;
        break;
      }
    }
    if (retry) {
      await sleep(retryMs, signal);
      continue;
    }
    if (options.once) break;
    await sleep(options.intervalMs, signal);
  }
  return allOk;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (parseFlags(argv, CRAWLER_FLAGS).help) {
    console.log(CRAWLER_USAGE);
    return 0;
  }
  const options = parseCrawlerArgs(argv);
  const controller = new AbortController();
  const stop = () => controller.abort();
  // `on`, not `once`: one Ctrl-C may arrive twice (from the terminal and relayed by npm/tsx).
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const { source } = devSecret();
  console.log(
    `simulated crawler → ${options.url} · tenant ${options.tenant} · ${options.accounts.join(", ")} · ` +
      (options.once ? "one push each" : `every ${options.intervalMs / 1000} s`) +
      ` · signing with ${source}`,
  );
  const ok = await runCrawler(options, { signal: controller.signal });
  if (controller.signal.aborted) console.log("crawler stopped");
  return ok ? 0 : 1;
}

if (isMain(import.meta.url)) runMain(main, CRAWLER_USAGE);
