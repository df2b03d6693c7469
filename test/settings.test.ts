import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { DEV_AUTH_SECRET } from "../src/auth";
import { token } from "./helpers";

/** A misconfigured deployment logs what it refuses for the operator (`wrangler tail`); kept out of the test output. */
let logged: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  logged = vi.spyOn(console, "error").mockImplementation(() => {});
  return () => logged.mockRestore();
});

/**
 * Calls the Worker with other settings than wrangler.toml's, as a deploy would have, at
 * `origin`: a test host (`*.test`, local) unless told otherwise.
 */
async function call(
  path: string,
  vars: Record<string, string | undefined>,
  bearer?: string,
  origin = "http://edge.test",
) {
  const request = new Request(`${origin}${path}`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
  const response = await app.fetch(request, { ...env, ...vars } as Env, createExecutionContext());
  return { status: response.status, json: (await response.json()) as any };
}

/** A secret of `bytes` ASCII bytes. */
const secretOf = (bytes: number) => "k".repeat(bytes);
/** A production secret as an operator sets one. */
const PRODUCTION_SECRET = "a-real-production-secret-1f9c2e7d40b6";

const NOT_SET = /^AUTH_SECRET is not set: set it with `wrangler secret put AUTH_SECRET`/;
const PUBLISHED = /^AUTH_SECRET is the published development secret .*`wrangler secret put AUTH_SECRET`/;

describe("the signing secret in production", () => {
  it.each([
    ["no AUTH_SECRET", undefined, NOT_SET],
    ["the development default", DEV_AUTH_SECRET, PUBLISHED],
    ["a 31-byte secret", secretOf(31), /^AUTH_SECRET is 31 bytes; it must be at least 32/],
    ["10 three-byte characters (30 bytes)", "密".repeat(10), /^AUTH_SECRET is 30 bytes; it must be at least 32/],
  ])("with %s every route answers 503 naming AUTH_SECRET, the status route too", async (_name, secret, message) => {
    for (const path of ["/api/v1/status", "/api/v1/accounts"]) {
      const res = await call(path, { ENVIRONMENT: "production", AUTH_SECRET: secret }, await token("agent"));
      expect(res.status).toBe(503);
      expect(res.json.error).toEqual({ code: "misconfigured", message: expect.stringMatching(message) });
    }
  });

  it("with its own secret it runs, and tokens signed with the development default are refused", async () => {
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: PRODUCTION_SECRET };
    expect((await call("/api/v1/status", vars)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"))).status).toBe(401);
    const good = await token("agent", { secret: vars.AUTH_SECRET, tenant: "prod-tenant" });
    expect((await call("/api/v1/accounts", vars, good)).status).toBe(200);
  });

  it.each([
    ["32 bytes", secretOf(32)],
    ["11 three-byte characters (33 bytes)", "密".repeat(11)],
  ])("a secret of %s is taken", async (_name, secret) => {
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: secret };
    expect((await call("/api/v1/status", vars)).status).toBe(200);
    const good = await token("agent", { secret, tenant: "prod-tenant" });
    expect((await call("/api/v1/accounts", vars, good)).status).toBe(200);
  });

  it("the same request from a local address is refused all the same: only development does without", async () => {
    const res = await call(
      "/api/v1/status",
      { ENVIRONMENT: "production", AUTH_SECRET: undefined },
      undefined,
      "http://127.0.0.1:8787",
    );
    expect(res.status).toBe(503);
    expect(res.json.error.message).toMatch(/^AUTH_SECRET is not set/);
  });

  it("logs a refused setting once, not on every request, and each other problem once too", async () => {
    // Secret lengths no other test uses: the isolate logs each problem once for all the tests of this file.
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: secretOf(13) };
    expect((await call("/api/v1/status", vars)).status).toBe(503);
    expect((await call("/api/v1/accounts", vars, await token("agent"))).status).toBe(503);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged).toHaveBeenCalledWith(
      "GET",
      "/api/v1/status",
      expect.objectContaining({ code: "misconfigured", message: expect.stringMatching(/^AUTH_SECRET is 13 bytes/) }),
      expect.stringContaining("logged once"),
    );
    expect((await call("/api/v1/status", { ...vars, AUTH_SECRET: secretOf(14) })).status).toBe(503);
    expect((await call("/api/v1/status", vars)).status).toBe(503);
    expect(logged).toHaveBeenCalledTimes(2);
    expect(logged.mock.calls[1]![2]).toMatchObject({ message: expect.stringMatching(/^AUTH_SECRET is 14 bytes/) });
  });
});

describe("the signing secret in development", () => {
  const PUBLIC = "https://edge.example.com";

  it.each([
    "http://127.0.0.1:8787",
    "http://localhost",
    "http://localhost:8787",
    "http://edge.test",
    "http://[::1]:8787",
    "http://192.168.1.20:8787",
    "http://10.0.0.7",
    "http://172.20.0.3:8787",
    "http://console.localhost:8787",
  ])("at %s, without AUTH_SECRET, it runs on the development default", async (origin) => {
    const vars = { ENVIRONMENT: "development", AUTH_SECRET: undefined };
    expect((await call("/api/v1/status", vars, undefined, origin)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"), origin)).status).toBe(200);
  });

  it("at a local address a short secret of the developer's own is taken", async () => {
    const vars = { ENVIRONMENT: "development", AUTH_SECRET: "short-local" };
    const own = await token("agent", { secret: "short-local" });
    expect((await call("/api/v1/accounts", vars, own, "http://127.0.0.1:8787")).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"), "http://127.0.0.1:8787")).status).toBe(401);
  });

  it("deployed (at a public host) without AUTH_SECRET, every route answers 503 naming it, and the development token gets nothing", async () => {
    const vars = { ENVIRONMENT: "development", AUTH_SECRET: undefined };
    for (const path of ["/api/v1/status", "/api/v1/accounts"]) {
      const res = await call(path, vars, await token("agent"), PUBLIC);
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe("misconfigured");
      expect(res.json.error.message).toMatch(NOT_SET);
      expect(res.json.error.message).toContain("ENVIRONMENT is development");
      expect(res.json).not.toHaveProperty("channels");
    }
  });

  it.each([
    ["a workers.dev name", "https://hiscrm-im-edge.team.workers.dev"],
    ["a public address", "http://203.0.113.9:8787"],
    ["a name that only starts like a local one", "https://localhost.example.com"],
    ["a name with .test inside it", "https://edge.test.example.com"],
    ["an address just outside 172.16/12", "http://172.32.0.1"],
  ])("%s is not local: without AUTH_SECRET it answers 503", async (_name, origin) => {
    const res = await call("/api/v1/status", { ENVIRONMENT: "development", AUTH_SECRET: undefined }, undefined, origin);
    expect(res.status).toBe(503);
    expect(res.json.error.message).toMatch(/^AUTH_SECRET is not set/);
  });

  it.each([
    ["the development default", DEV_AUTH_SECRET, PUBLISHED],
    ["a short secret", secretOf(20), /^AUTH_SECRET is 20 bytes; it must be at least 32/],
  ])("deployed with %s it answers 503 naming AUTH_SECRET", async (_name, secret, message) => {
    const res = await call(
      "/api/v1/accounts",
      { ENVIRONMENT: "development", AUTH_SECRET: secret },
      await token("agent"),
      PUBLIC,
    );
    expect(res.status).toBe(503);
    expect(res.json.error).toEqual({ code: "misconfigured", message: expect.stringMatching(message) });
  });

  it("deployed with its own secret it runs, and the development token is refused", async () => {
    const vars = { ENVIRONMENT: "development", AUTH_SECRET: PRODUCTION_SECRET };
    expect((await call("/api/v1/status", vars, undefined, PUBLIC)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"), PUBLIC)).status).toBe(401);
    const own = await token("agent", { secret: PRODUCTION_SECRET, tenant: "dev-deployed" });
    expect((await call("/api/v1/accounts", vars, own, PUBLIC)).status).toBe(200);
  });
});

describe("an ENVIRONMENT other than development", () => {
  it("is held to production's rule, at a local address too", async () => {
    const res = await call(
      "/api/v1/status",
      { ENVIRONMENT: "staging", AUTH_SECRET: undefined },
      undefined,
      "http://localhost:8787",
    );
    expect(res.status).toBe(503);
    expect(res.json.error.message).toMatch(/^AUTH_SECRET is not set/);
  });
});

describe("settings in [vars]", () => {
  it.each([
    ["MAX_PUSH_BYTES", "4MB", "a whole number from 1 to 4194304"],
    ["FRAMES_PER_SECOND", "0", "a whole number above 0"],
    ["PUSHES_PER_MINUTE", "-5", "a whole number above 0"],
    ["EVENT_RETENTION_COUNT", "1.5", "a whole number above 0"],
    ["MAX_FRAME_BYTES", "2097152", "a whole number from 1 to 1048576"],
    ["MAX_SOCKETS_PER_OBJECT", "40000", "a whole number from 1 to 32000"],
    ["STORAGE_HIGH_PERCENT", "95", "a whole number from 1 to 94"],
    ["ARCHIVE_PERCENT", "0", "a whole number from 1 to 94"],
  ])("%s = %j: every route answers 503 naming the setting, the status route too", async (name, value, range) => {
    for (const path of ["/api/v1/status", "/api/v1/accounts"]) {
      const res = await call(path, { [name]: value }, await token("agent"));
      expect(res.status).toBe(503);
      expect(res.json.error).toEqual({
        code: "misconfigured",
        message: `setting ${name} must be ${range}, not ${JSON.stringify(value)} (wrangler.toml [vars])`,
      });
    }
    // Once, for the first request it refused.
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged).toHaveBeenCalledWith(
      "GET",
      "/api/v1/status",
      expect.objectContaining({ code: "misconfigured" }),
      expect.any(String),
    );
  });

  it("an unset or empty setting takes its default, and a valid one is accepted", async () => {
    const vars = { MAX_PUSH_BYTES: "", FRAMES_PER_SECOND: undefined, EVENT_RETENTION_DAYS: " 7 " };
    expect((await call("/api/v1/status", vars)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"))).status).toBe(200);
  });
});
