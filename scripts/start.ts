/**
 * `npm start [-- --verbose] [-- --no-crawler]`
 *
 * The local system in one command: `wrangler dev` (local mode, SQLite under .wrangler/state),
 * then, once `GET /api/v1/status` answers, the simulated crawler, then a banner with the
 * console's URLs, tokens and commands to try. Ctrl-C stops both. Writes nothing but
 * wrangler's own local state.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { isMain, parseFlags, runMain, UsageError } from "./cli";
import { DEFAULT_ACCOUNTS, runCrawler } from "./crawler";
import type { CrawlerOptions } from "./crawler";
import { devSecret, mintToken, REPO_ROOT, startWrangler } from "./backend";
import type { Wrangler } from "./backend";

export const START_USAGE = `usage: npm start [-- --verbose] [-- --no-crawler]

Starts wrangler dev on http://127.0.0.1:8787 (PORT=… to change), waits for it, starts the
simulated crawler and prints tokens and commands to try. Ctrl-C stops everything.

  --verbose     show all of wrangler's output (every request, the offline Request.cf warning)
  --no-crawler  don't start the simulated crawler`;

const START_FLAGS = { verbose: "boolean", "no-crawler": "boolean" } as const;
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 120_000;

/** The port from `PORT`, or 8787. */
export function portFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  if (env.PORT === undefined || env.PORT === "") return 8787;
  const port = Number(env.PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`PORT must be a port number from 1 to 65535 (got ${JSON.stringify(env.PORT)})`);
  }
  return port;
}

/** Whether something already listens on host:port. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(true));
    server.listen(port, HOST, () => server.close(() => resolve(false)));
  });
}

// eslint-disable-next-line no-control-regex -- terminal colour codes start with ESC
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Keeps wrangler's output readable next to the crawler's: drops its log line for every
 * successful request and the offline `Request.cf` warning's stack (once, as one short note).
 * Returns the lines to show for one line of wrangler output.
 */
export function wranglerFilter(): (line: string) => string[] {
  let cfNoted = false;
  let inStack = false;
  return function filter(raw: string): string[] {
    const line = raw.replace(ANSI, "");
    if (inStack && /^(Error: getaddrinfo|\s+at )/.test(line)) return [];
    inStack = false;
    if (line.includes("Unable to fetch the `Request.cf` object")) {
      inStack = true;
      if (cfNoted) return [];
      cfNoted = true;
      return ["(offline: no Request.cf data from workers.cloudflare.com — harmless for local use)"];
    }
    if (/^\[wrangler:info\] (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ [123]\d\d /.test(line)) return [];
    return [line];
  };
}

/** The banner: where the backend is, tokens, and commands to paste. */
export function banner(options: {
  base: string;
  port: number;
  agentToken: string;
  adminToken: string;
  accounts: string[];
  crawling: string | null;
}): string {
  const { base, port, agentToken, adminToken } = options;
  const wsBase = base.replace(/^http/, "ws");
  const account = options.accounts[0] ?? "douyin-1001";
  const urlFlag = port === 8787 ? "" : ` --url ${base}`;
  const rule = "─".repeat(78);
  return [
    "",
    rule,
    ` HisCRM-IM Edge is running at ${base}`,
    ` local data: .wrangler/state (stop, delete it, start again to begin afresh)`,
    options.crawling ? ` simulated crawler: ${options.crawling}` : " simulated crawler: off (--no-crawler)",
    "",
    " Open the console in a browser (the token is in the #token= fragment, valid 24 h):",
    `   agent  ${base}/#token=${agentToken}`,
    `   admin  ${base}/#token=${adminToken}`,
    "",
    " Tokens for tenant demo, valid 24 h — paste these into another terminal first:",
    `   export AGENT_TOKEN=${agentToken}`,
    `   export ADMIN_TOKEN=${adminToken}`,
    "",
    " Try:",
    `   curl -s ${base}/api/v1/status`,
    `   curl -s -H "Authorization: Bearer $AGENT_TOKEN" ${base}/api/v1/accounts`,
    `   curl -s -H "Authorization: Bearer $AGENT_TOKEN" ${base}/api/v1/accounts/${account}/topics`,
    "",
    " Reply as an agent (TOPIC_ID: an id from the topics above; the crawler sends it within",
    " seconds), and start a QR login as an admin:",
    `   curl -s -H "Authorization: Bearer $AGENT_TOKEN" -H "content-type: application/json" \\`,
    `     -d '{"content":"谢谢支持！","clientMsgId":"try-1"}' ${base}/api/v1/accounts/${account}/topics/TOPIC_ID/replies`,
    `   curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" ${base}/api/v1/accounts/${account}/login`,
    "",
    " Watch live frames:",
    `   npm run watch -- ${account}${urlFlag}            one account: comments, DMs, topics`,
    `   npm run watch -- --directory${urlFlag}           the channel list`,
    `   npx wscat -c "${wsBase}/api/v1/accounts/${account}/ws?token=$AGENT_TOKEN"`,
    `   npx wscat -c "${wsBase}/api/v1/ws?token=$AGENT_TOKEN"     (wscat is downloaded on first use)`,
    "",
    " Other tokens: npm run -s token -- --role agent|admin|crawler [--tenant …]   (docs/RUNNING.md)",
    " Ctrl-C stops the backend and the crawler.",
    rule,
    "",
  ].join("\n");
}

async function main(): Promise<number> {
  const { flags, help } = parseFlags(process.argv.slice(2), START_FLAGS);
  if (help) {
    console.log(START_USAGE);
    return 0;
  }
  const port = portFromEnv();
  const base = `http://${HOST}:${port}`;
  if (!existsSync(join(REPO_ROOT, "node_modules", ".bin", "wrangler"))) {
    console.error("wrangler is not installed here: run `npm install` first.");
    return 1;
  }
  if (await portInUse(port)) {
    console.error(
      `port ${port} is already in use (another \`npm start\`?). Stop it, or pick another port: PORT=${port + 1} npm start`,
    );
    return 1;
  }

  const { secret, source } = devSecret();
  console.log(`starting wrangler dev on ${base} (tokens signed with ${source})…`);
  const filter = flags.verbose ? (line: string) => [line] : wranglerFilter();
  const controller = new AbortController();
  let stopping = false;
  let crawler: Promise<boolean> = Promise.resolve(true);
  let wrangler: Wrangler | null = null;

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping the crawler and wrangler…");
    controller.abort();
    await crawler;
    await wrangler?.stop();
  };
  let interrupted: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (interrupted = resolve));
  let firstSignalAt = 0;
  const onSignal = () => {
    // One Ctrl-C often arrives twice (from the terminal and relayed by npm/tsx): a repeat
    // within a second is that echo; a later one means "now" and kills wrangler at once.
    if (stopping) {
      if (Date.now() - firstSignalAt > 1_000) {
        void wrangler?.kill();
        process.exit(130);
      }
      return;
    }
    firstSignalAt = Date.now();
    void stop().then(interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    wrangler = await startWrangler({
      project: REPO_ROOT,
      port,
      // wrangler dev reads .dev.vars / .env itself, but not this shell's environment: hand it on,
      // so the backend checks tokens with the same secret they are signed with here.
      vars: process.env.AUTH_SECRET ? { AUTH_SECRET: process.env.AUTH_SECRET } : {},
      onLine: (line) => {
        for (const shown of filter(line)) console.log(`wrangler │ ${shown}`);
      },
      readyTimeoutMs: READY_TIMEOUT_MS,
      signal: controller.signal,
    });
  } catch (error) {
    if (stopping) {
      await stopped;
      console.log("stopped.");
      return 0;
    }
    console.error(`${error instanceof Error ? error.message : error}; stopping.`);
    return 1;
  }
  const running = wrangler;
  const finished = new Promise<number>((resolve) => {
    void stopped.then(() => {
      console.log("stopped.");
      resolve(0);
    });
    void running.exited.then(async (code) => {
      if (stopping) return; // the signal's stop, above
      console.error(`wrangler dev exited (code ${code}); stopping.`);
      await stop();
      resolve(code || 1);
    });
  });

  const [agentToken, adminToken] = await Promise.all([
    mintToken("agent", { tenant: "demo", sub: "agent-local", ttl: 24 * 3600, secret }),
    mintToken("admin", { tenant: "demo", sub: "admin-local", ttl: 24 * 3600, secret }),
  ]);
  const options: CrawlerOptions = {
    url: base,
    tenant: "demo",
    intervalMs: 3_000,
    once: false,
    accounts: DEFAULT_ACCOUNTS,
    seed: "hiscrm",
  };
  const show = () =>
    console.log(
      banner({
        base,
        port,
        agentToken,
        adminToken,
        accounts: options.accounts,
        crawling: flags["no-crawler"]
          ? null
          : `${options.accounts.join(", ")} every ${options.intervalMs / 1000} s (npm run crawler -- --help)`,
      }),
    );

  if (flags["no-crawler"]) {
    show();
    return finished;
  }
  // The banner comes after the first round of pushes, so the examples have data to show.
  const firstRound = new Set<string>();
  let shown = false;
  // …or after a while anyway, if the pushes fail (their errors are above it then).
  setTimeout(() => {
    if (!shown && !stopping) {
      shown = true;
      show();
    }
  }, 15_000).unref();
  crawler = runCrawler(options, {
    signal: controller.signal,
    secret,
    // Only pushes that brought something: an idle re-scrape is not news.
    log: (line) => {
      if (shown && line.endsWith("no changes")) return;
      console.log(`crawler  │ ${line}`);
    },
    onPush: (account) => {
      firstRound.add(account.id);
      if (!shown && firstRound.size === options.accounts.length) {
        shown = true;
        show();
      }
    },
  });
  return finished;
}

if (isMain(import.meta.url)) runMain(main, START_USAGE);
