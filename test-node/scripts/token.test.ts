import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEV_AUTH_SECRET, verifyToken } from "../../src/auth";
import { parseFlags, UsageError } from "../../scripts/cli";
import { devSecret, mintToken, parseDotenv, REPO_ROOT } from "../../scripts/backend";
import { parseTokenArgs } from "../../scripts/token";

const run = promisify(execFile);
const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** The UsageError message `parseTokenArgs` throws for these arguments. */
function usageError(argv: string[]): string {
  try {
    parseTokenArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("parseTokenArgs", () => {
  it("fills in tenant demo, sub <role>-local and 24 hours", () => {
    expect(parseTokenArgs(["--role", "agent"])).toEqual({
      role: "agent",
      tenant: "demo",
      sub: "agent-local",
      ttl: 86_400,
    });
  });

  it("takes every flag, as --flag value or --flag=value", () => {
    expect(
      parseTokenArgs([
        "--role=admin",
        "--tenant",
        "acme",
        "--sub=alice",
        "--accounts",
        "douyin-1,douyin-2",
        "--ttl",
        "600",
      ]),
    ).toEqual({
      role: "admin",
      tenant: "acme",
      sub: "alice",
      accounts: ["douyin-1", "douyin-2"],
      ttl: 600,
    });
  });

  it("accepts a ttl with a unit", () => {
    expect(parseTokenArgs(["--role", "crawler", "--ttl", "90m"]).ttl).toBe(5_400);
    expect(parseTokenArgs(["--role", "crawler", "--ttl", "12h"]).ttl).toBe(43_200);
    expect(parseTokenArgs(["--role", "crawler", "--ttl", "7d"]).ttl).toBe(604_800);
  });

  it("refuses an unknown flag, naming it and the known ones", () => {
    expect(usageError(["--role", "agent", "--tenantt", "x"])).toBe(
      "unknown flag --tenantt (known flags: --role, --tenant, --sub, --accounts, --ttl)",
    );
  });

  it("requires --role and names the roles", () => {
    expect(usageError([])).toBe("--role is required: crawler, agent, admin");
  });

  it("refuses a role that does not exist", () => {
    expect(usageError(["--role", "boss"])).toBe('--role must be one of crawler, agent, admin (got "boss")');
  });

  it.each([["0"], ["-5"], ["abc"], ["1.5"], ["10w"]])("refuses --ttl %s", (ttl) => {
    expect(usageError(["--role", "agent", "--ttl", ttl])).toMatch(/^--ttl must be a whole number of seconds above 0/);
  });

  it("refuses a ttl over a year", () => {
    expect(usageError(["--role", "agent", "--ttl", "400d"])).toBe('--ttl must be at most 366 days (got "400d")');
  });

  it("refuses a flag without its value", () => {
    expect(usageError(["--role"])).toBe("--role needs a value");
    expect(usageError(["--role", "agent", "--tenant", "--sub", "x"])).toBe("--tenant needs a value");
  });

  it("refuses a tenant that is not an id", () => {
    expect(usageError(["--role", "agent", "--tenant", "a b"])).toBe(
      '--tenant must be 1–128 characters of A–Z a–z 0–9 : _ . - (got "a b")',
    );
  });

  it("refuses accounts that are not ids, naming the bad one", () => {
    expect(usageError(["--role", "agent", "--accounts", "douyin-1,bad id"])).toBe(
      '--accounts: "bad id" is not an account id (1–128 characters of A–Z a–z 0–9 : _ . -)',
    );
    expect(usageError(["--role", "agent", "--accounts", ","])).toBe("--accounts needs at least one account id");
  });

  it("refuses a flag given twice and a stray argument", () => {
    expect(usageError(["--role", "agent", "--role", "admin"])).toBe("--role is given more than once");
    expect(usageError(["--role", "agent", "extra"])).toBe('unexpected argument "extra" (every option is a --flag)');
  });

  it("sees --help", () => {
    expect(parseFlags(["--help"], { role: "string" }).help).toBe(true);
  });
});

describe("devSecret", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "token-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses the built-in development secret when nothing is configured", () => {
    expect(devSecret({}, dir)).toEqual({ secret: DEV_AUTH_SECRET, source: "the built-in development secret" });
  });

  it("reads AUTH_SECRET from .dev.vars", async () => {
    await writeFile(join(dir, ".dev.vars"), '# local only\nOTHER=1\nAUTH_SECRET="from dev vars"\n');
    expect(devSecret({}, dir)).toEqual({ secret: "from dev vars", source: "AUTH_SECRET in .dev.vars" });
  });

  it("reads .env when there is no .dev.vars, as wrangler does", async () => {
    await writeFile(join(dir, ".env"), "AUTH_SECRET=from-env-file\n");
    expect(devSecret({}, dir).secret).toBe("from-env-file");
    await writeFile(join(dir, ".dev.vars"), "OTHER=1\n");
    expect(devSecret({}, dir).secret).toBe(DEV_AUTH_SECRET);
  });

  it("prefers AUTH_SECRET from the environment", async () => {
    await writeFile(join(dir, ".dev.vars"), "AUTH_SECRET=from-file\n");
    expect(devSecret({ AUTH_SECRET: "from-shell" }, dir)).toEqual({
      secret: "from-shell",
      source: "AUTH_SECRET in the environment",
    });
  });

  it("parses dotenv lines: export, quotes, comments", () => {
    expect(parseDotenv("export A=1\nB = 'two words'\nC=three # note\n# D=4\nE=\"x\\ny\"")).toEqual({
      A: "1",
      B: "two words",
      C: "three",
      E: "x\ny",
    });
  });
});

describe("npm run token", () => {
  it("prints a token that verifies with the secret and carries the claims asked for", async () => {
    const secret = "token-test-secret";
    const before = Math.floor(Date.now() / 1000);
    const { stdout } = await run(
      TSX,
      [
        "scripts/token.ts",
        "--role",
        "admin",
        "--tenant",
        "acme",
        "--sub",
        "alice",
        "--accounts",
        "douyin-1,douyin-2",
        "--ttl",
        "600",
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AUTH_SECRET: secret },
      },
    );
    const token = stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const check = await verifyToken(token, secret);
    expect(check).toMatchObject({
      ok: true,
      claims: { sub: "alice", tid: "acme", role: "admin", accounts: ["douyin-1", "douyin-2"] },
    });
    if (!check.ok) return;
    expect(check.claims.exp - before).toBeGreaterThanOrEqual(600);
    expect(check.claims.exp - before).toBeLessThan(700);
    expect((await verifyToken(token, "another-secret")).ok).toBe(false);
  });

  it("signs with the local development secret by default", async () => {
    const env = { ...process.env };
    delete env.AUTH_SECRET;
    const { stdout } = await run(TSX, ["scripts/token.ts", "--role", "agent"], { cwd: REPO_ROOT, env });
    const check = await verifyToken(stdout.trim(), devSecret({}).secret);
    expect(check).toMatchObject({ ok: true, claims: { sub: "agent-local", tid: "demo", role: "agent" } });
  });

  it("exits non-zero and names the flag on a bad argument", async () => {
    const failure = await run(TSX, ["scripts/token.ts", "--role", "agent", "--ttl", "soon"], { cwd: REPO_ROOT }).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure).not.toBeNull();
    expect(failure!.code).toBe(2);
    expect(failure!.stdout).toBe("");
    expect(failure!.stderr).toContain(
      'error: --ttl must be a whole number of seconds above 0, or like 90m, 12h, 7d (got "soon")',
    );
    expect(failure!.stderr).toContain("usage: npm run token");
  });
});

describe("mintToken", () => {
  it("sets iat and exp from the given clock", async () => {
    const token = await mintToken("crawler", { tenant: "demo", sub: "c", ttl: 60, secret: "s", now: 1_000 });
    const check = await verifyToken(token, "s", 1_030);
    expect(check).toMatchObject({ ok: true, claims: { iat: 1_000, exp: 1_060 } });
    expect(await verifyToken(token, "s", 1_061)).toEqual({ ok: false, reason: "token has expired" });
  });
});
