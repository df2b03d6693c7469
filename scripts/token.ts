/**
 * `npm run token -- --role <crawler|agent|admin> [--tenant <tid>] [--sub <id>] [--accounts a,b] [--ttl <seconds>]`
 *
 * Prints a token (PROTOCOL §2) signed with the secret the local backend uses, so the token
 * works against `npm start` / `wrangler dev`. The token goes to stdout alone (for `$(…)`),
 * a one-line summary to stderr.
 */
import { ROLES } from "../src/auth";
import type { Role } from "../src/auth";
import { ACCOUNT_ID_RE } from "../src/contract/schemas";
import { devSecret, mintToken } from "./backend";
import { isMain, parseFlags, runMain, UsageError } from "./cli";

export const TOKEN_USAGE = `usage: npm run token -- --role <crawler|agent|admin> [--tenant <tid>] [--sub <id>] [--accounts a,b] [--ttl <seconds>]

  --role      crawler, agent or admin (required)
  --tenant    tenant id (default demo)
  --sub       user or crawler id (default <role>-local)
  --accounts  comma-separated account ids the token may use (default: every account of the tenant)
  --ttl       lifetime in seconds, or with a unit: 90m, 12h, 7d (default 24h)

The token is signed with AUTH_SECRET from the environment, else from .dev.vars (or .env),
else with the built-in development secret — the same secret \`npm start\` uses.`;

export type TokenArgs = { role: Role; tenant: string; sub: string; accounts?: string[]; ttl: number };

const TOKEN_FLAGS = { role: "string", tenant: "string", sub: "string", accounts: "string", ttl: "string" } as const;
const ID_RULE = "1–128 characters of A–Z a–z 0–9 : _ . -";
const DAY = 24 * 3600;
const UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: DAY };

/** Parses a lifetime: whole seconds, or a number with s, m, h or d. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNITS[match[2]!]! : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(
      `--ttl must be a whole number of seconds above 0, or like 90m, 12h, 7d (got ${JSON.stringify(text)})`,
    );
  }
  if (seconds > 366 * DAY) throw new UsageError(`--ttl must be at most 366 days (got ${JSON.stringify(text)})`);
  return seconds;
}

/**
 * Parses the token command's arguments.
 * @example
 * parseTokenArgs(["--role", "agent"]) // { role: "agent", tenant: "demo", sub: "agent-local", ttl: 86400 }
 */
export function parseTokenArgs(argv: readonly string[]): TokenArgs {
  const { flags } = parseFlags(argv, TOKEN_FLAGS);
  if (flags.role === undefined) throw new UsageError(`--role is required: ${ROLES.join(", ")}`);
  if (!(ROLES as readonly string[]).includes(flags.role)) {
    throw new UsageError(`--role must be one of ${ROLES.join(", ")} (got ${JSON.stringify(flags.role)})`);
  }
  const role = flags.role as Role;
  const tenant = flags.tenant ?? "demo";
  if (!ACCOUNT_ID_RE.test(tenant)) throw new UsageError(`--tenant must be ${ID_RULE} (got ${JSON.stringify(tenant)})`);
  const sub = flags.sub ?? `${role}-local`;
  if (sub.length > 128) throw new UsageError("--sub must be at most 128 characters");
  const ttl = flags.ttl === undefined ? DAY : parseTtl(flags.ttl);
  const args: TokenArgs = { role, tenant, sub, ttl };
  if (flags.accounts !== undefined) args.accounts = parseAccountList(flags.accounts, "--accounts");
  return args;
}

/** A comma-separated list of account ids, each checked. */
export function parseAccountList(text: string, flag: string): string[] {
  const ids = text
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  if (!ids.length) throw new UsageError(`${flag} needs at least one account id`);
  if (ids.length > 200) throw new UsageError(`${flag} takes at most 200 account ids`);
  const bad = ids.find((id) => !ACCOUNT_ID_RE.test(id));
  if (bad !== undefined) throw new UsageError(`${flag}: ${JSON.stringify(bad)} is not an account id (${ID_RULE})`);
  return [...new Set(ids)];
}

/** "24 h", "90 min", "45 s": a lifetime as people say it. */
export function describeTtl(seconds: number): string {
  if (seconds % DAY === 0 && seconds >= 2 * DAY) return `${seconds / DAY} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (parseFlags(argv, TOKEN_FLAGS).help) {
    console.log(TOKEN_USAGE);
    return;
  }
  const args = parseTokenArgs(argv);
  const { secret, source } = devSecret();
  const token = await mintToken(args.role, { ...args, secret });
  process.stdout.write(`${token}\n`);
  const scope = args.accounts ? `accounts ${args.accounts.join(",")}` : "every account";
  process.stderr.write(
    `${args.role} token · tenant ${args.tenant} · sub ${args.sub} · ${scope} · valid ${describeTtl(args.ttl)} · signed with ${source}\n`,
  );
}

if (isMain(import.meta.url)) runMain(main, TOKEN_USAGE);
