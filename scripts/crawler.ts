/**
 * `npm run crawler -- [--url http://127.0.0.1:8787] [--tenant demo] [--interval 3] [--once] [--accounts a,b] [--seed s]`
 *
 * A simulated crawler built on `client/crawler.ts`: every few seconds it re-scrapes a window
 * of each account (the latest works, comments, DMs, notifications) and pushes it as a full
 * snapshot (PROTOCOL §4) with its health report (§10); between pushes it carries out the
 * agents' replies and the admins' QR logins (§7).
 *
 * What it scrapes comes from the simulated world in `./crawler/world.ts`, a pure function of
 * (seed, account, time); the replies it posted, from `./crawler/outbox.ts`; how it carries out
 * commands, `./crawler/commands.ts`. This file is the command line, the push loop and what it prints.
 */
import WebSocket from "ws";
import { createCrawlerClient, CrawlerError } from "../client/crawler";
import type { CommandLoop, PushResponse } from "../client/crawler";
import { ACCOUNT_ID_RE } from "../src/contract/schemas";
import { isMain, parseBaseUrl, parseFlags, runMain, sleep, UsageError } from "./cli";
import { devSecret, mintToken } from "./backend";
import { parseAccountList } from "./token";
import { simulatedHandler } from "./crawler/commands";
import type { CommandOptions } from "./crawler/commands";
import { Outbox } from "./crawler/outbox";
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

export type { PushResponse };

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
  /** How replies and logins are carried out (delays, failure rate); not in `once` mode. */
  commands?: Partial<Omit<CommandOptions, "client" | "outbox" | "log">>;
};

function timeOfDay(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** 502, 503, 504 or no answer at all: no backend behind the address right now. */
function unavailable(error: CrawlerError): boolean {
  return error.code === "network" || [502, 503, 504].includes(error.status ?? 0);
}

/** "HTTP 400 invalid_body: snapshot.comments[0].content: Required", or why there was no answer. */
function describeError(error: CrawlerError): string {
  if (error.status === undefined) return error.detail;
  const code = error.code.startsWith("http_") ? "" : ` ${error.code}`;
  let message = `HTTP ${error.status}${code}: ${error.detail}`;
  if (error.status === 401) message += " (does the crawler sign with the backend's AUTH_SECRET? see docs/RUNNING.md)";
  return message;
}

/**
 * The crawler's interval as it reports it (PROTOCOL §10 bounds it to 1 s … 1 h): a crawler
 * faster than a second is still held to a second.
 */
const reportedInterval = (ms: number) => Math.min(3_600_000, Math.max(1_000, ms));

/**
 * Pushes snapshots of every account until `signal` aborts (or once, with `once`). Waits for a
 * backend that is not up yet, saying so once. Resolves to whether every push succeeded.
 */
export async function runCrawler(options: CrawlerOptions, run: CrawlerRun = {}): Promise<boolean> {
  const { log = console.log, signal, waitMs = 60_000, retryMs = 2_000, onPush } = run;
  const secret = run.secret ?? devSecret().secret;
  const accounts = options.accounts.map((id, index) => simAccount(id, index));
  const client = createCrawlerClient({
    url: options.url,
    token: () => mintToken("crawler", { tenant: options.tenant, sub: "crawler-sim", ttl: 3600, secret }),
    // Waiting for a backend that is down is this loop's business (it says so once); 429s the client waits out.
    maxAttempts: 1,
    fetch: (input, init) => fetch(input, { ...init, signal }),
    WebSocket,
    onError: (error) => log(`${timeOfDay()}  ${error.message}`),
  });
  const outbox = new Outbox();
  const handler = simulatedHandler({
    client,
    outbox,
    log: (line) => log(`${timeOfDay()}  ${line}`),
    ...run.commands,
  });
  const loops = new Map<string, CommandLoop>();
  const crawler = { intervalMs: reportedInterval(options.intervalMs), login: "logged_in" as const, version: "sim" };
  let allOk = true;
  let unreachableSince: number | null = null;
  try {
    while (!signal?.aborted) {
      let retry = false;
      for (const account of accounts) {
        if (signal?.aborted) break;
        try {
          const body = outbox.addTo(account, generateSnapshot(account, Date.now(), options.seed));
          const response = await client.push({ ...body, crawler });
          if (unreachableSince !== null) log(`${timeOfDay()}  backend is up`);
          unreachableSince = null;
          log(`${timeOfDay()}  ${describePush(account, response)}`);
          onPush?.(account, response);
          // The account exists now: take its commands (a once-run pushes and leaves).
          if (!options.once && !loops.has(account.id)) loops.set(account.id, client.listen(account.id, handler));
        } catch (error) {
          if (signal?.aborted) break;
          if (!(error instanceof CrawlerError)) throw error;
          if (!unavailable(error)) {
            allOk = false;
            log(`${timeOfDay()}  ${account.id} push failed: ${describeError(error)}`);
            continue;
          }
          // No answer, or no backend behind the address: it is not up (yet). Say so once, then keep trying.
          if (unreachableSince === null) {
            unreachableSince = Date.now();
            log(
              `${timeOfDay()}  waiting for the backend at ${options.url} (${describeError(error)}); retrying every ${retryMs / 1000} s…`,
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
  } finally {
    await Promise.all([...loops.values()].map((loop) => loop.stop()));
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
