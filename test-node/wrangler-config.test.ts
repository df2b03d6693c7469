/**
 * wrangler.toml as wrangler reads it: the top level, which a plain `wrangler deploy` ships, is
 * production; `[env.development]`, which `npm start`, `npm run dev` and the tests run, differs
 * from it only in what a local run needs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const config = join(ROOT, "wrangler.toml");
const production = unstable_readConfig({ config });
const development = unstable_readConfig({ config, env: "development" });

/** What a Worker runs with, beside its name, vars and secrets. */
function runtime(c: typeof production) {
  return {
    main: c.main,
    compatibility_date: c.compatibility_date,
    compatibility_flags: c.compatibility_flags,
    keep_names: c.keep_names,
    migrations: c.migrations,
    assets: c.assets,
    build: c.build,
    durable_objects: c.durable_objects,
    r2_buckets: c.r2_buckets,
  };
}

describe("wrangler.toml", () => {
  it("ships production from its top level: ENVIRONMENT production, AUTH_SECRET required, logs on", () => {
    expect(production.name).toBe("hiscrm-im-edge-production");
    expect(production.vars.ENVIRONMENT).toBe("production");
    expect(production.secrets).toEqual({ required: ["AUTH_SECRET"] });
    expect(production.observability?.enabled).toBe(true);
  });

  it("[env.development] runs the same Worker with ENVIRONMENT development and no required secret", () => {
    expect(development.name).toBe("hiscrm-im-edge");
    expect(development.vars).toEqual({ ...production.vars, ENVIRONMENT: "development" });
    // Declared secrets would make wrangler dev read only those from .dev.vars, and require them.
    expect(development.secrets).toBeUndefined();
    expect(runtime(development)).toEqual(runtime(production));
    expect(development.durable_objects.bindings).toEqual([
      { name: "ACCOUNT_ROOM", class_name: "AccountRoom" },
      { name: "DIRECTORY", class_name: "Directory" },
    ]);
    expect(development.r2_buckets).toEqual([{ binding: "ARCHIVE", bucket_name: "hiscrm-im-archive" }]);
  });

  it("npm run deploy and build mean production, npm run dev development", () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(scripts.deploy).toBe("wrangler deploy");
    expect(scripts.build).toBe("wrangler deploy --dry-run --outdir dist");
    expect(scripts.dev).toBe("wrangler dev --env development");
  });
});
