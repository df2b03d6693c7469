import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { token } from "./helpers";

/** A misconfigured deployment logs each refused request for the operator (`wrangler tail`); kept out of the test output. */
let logged: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  logged = vi.spyOn(console, "error").mockImplementation(() => {});
  return () => logged.mockRestore();
});

/** Calls the Worker with other settings than wrangler.toml's, as a production deploy would have. */
async function call(path: string, vars: Record<string, string | undefined>, bearer?: string) {
  const request = new Request(
    `http://edge.test${path}`,
    bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {},
  );
  const response = await app.fetch(request, { ...env, ...vars } as Env, createExecutionContext());
  return { status: response.status, json: (await response.json()) as any };
}

describe("the signing secret in production", () => {
  it.each([
    ["no AUTH_SECRET", undefined],
    ["the development default", "dev-only-insecure-secret-change-me"],
  ])("with %s every route answers 500 naming AUTH_SECRET, the status route too", async (_name, secret) => {
    for (const path of ["/api/v1/status", "/api/v1/accounts"]) {
      const res = await call(path, { ENVIRONMENT: "production", AUTH_SECRET: secret }, await token("agent"));
      expect(res.status).toBe(500);
      expect(res.json.error).toEqual({
        code: "internal",
        message: expect.stringMatching(/AUTH_SECRET is not configured for production/),
      });
    }
  });

  it("with its own secret it runs, and tokens signed with the development default are refused", async () => {
    const vars = { ENVIRONMENT: "production", AUTH_SECRET: "a-real-production-secret-1f9c2" };
    expect((await call("/api/v1/status", vars)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"))).status).toBe(401);
    const good = await token("agent", { secret: vars.AUTH_SECRET, tenant: "prod-tenant" });
    expect((await call("/api/v1/accounts", vars, good)).status).toBe(200);
  });

  it("outside production a missing secret falls back to the development default", async () => {
    expect(
      (await call("/api/v1/accounts", { ENVIRONMENT: "development", AUTH_SECRET: undefined }, await token("agent")))
        .status,
    ).toBe(200);
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
  ])("%s = %j: every route answers 500 naming the setting, the status route too", async (name, value, range) => {
    for (const path of ["/api/v1/status", "/api/v1/accounts"]) {
      const res = await call(path, { [name]: value }, await token("agent"));
      expect(res.status).toBe(500);
      expect(res.json.error).toEqual({
        code: "internal",
        message: `setting ${name} must be ${range}, not ${JSON.stringify(value)} (wrangler.toml [vars])`,
      });
    }
    expect(logged).toHaveBeenCalledWith("GET", "/api/v1/status", expect.objectContaining({ code: "internal" }));
  });

  it("an unset or empty setting takes its default, and a valid one is accepted", async () => {
    const vars = { MAX_PUSH_BYTES: "", FRAMES_PER_SECOND: undefined, EVENT_RETENTION_DAYS: " 7 " };
    expect((await call("/api/v1/status", vars)).status).toBe(200);
    expect((await call("/api/v1/accounts", vars, await token("agent"))).status).toBe(200);
  });
});
