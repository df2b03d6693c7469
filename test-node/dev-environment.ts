/**
 * Which environment of a checkout's wrangler.toml runs locally. This project's top level is
 * production and `[env.development]` is what `npm start` and the tests run; a checkout from
 * before that split (a bench's `--ref`), or another Worker (bench/bare.ts), has no such
 * environment, and its top level is what runs locally.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** `"development"` when the wrangler.toml in `root` has `[env.development]`, else undefined (its top level). */
export function developmentEnvironment(root: string): "development" | undefined {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  return /^\s*\[+env\.development[\].]/m.test(toml) ? "development" : undefined;
}

/** `wrangler dev`'s `--env development` for the checkout in `root`, or nothing (see `developmentEnvironment`). */
export function developmentEnvArgs(root: string): string[] {
  return developmentEnvironment(root) ? ["--env", "development"] : [];
}
