/**
 * What the local scripts (token, crawler, start, watch) share: a small flag parser with
 * errors that name the flag, the backend URL flag, and "am I the script being run?".
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A mistake on the command line; the scripts print its message and exit with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type FlagSpec = Record<string, "string" | "boolean">;
export type Flags<S extends FlagSpec> = { [K in keyof S]?: S[K] extends "string" ? string : boolean };
export type Parsed<S extends FlagSpec> = { flags: Flags<S>; positionals: string[]; help: boolean };

/**
 * Parses `--name value`, `--name=value` and boolean `--name`. Unknown flags, missing values,
 * repeated flags and unexpected positionals are a `UsageError` naming the flag.
 * @example
 * parseFlags(["--role", "agent"], { role: "string" }) // { flags: { role: "agent" }, positionals: [], help: false }
 */
export function parseFlags<S extends FlagSpec>(
  argv: readonly string[],
  spec: S,
  { maxPositionals = 0 } = {},
): Parsed<S> {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (positionals.length >= maxPositionals) {
        throw new UsageError(
          `unexpected argument ${JSON.stringify(arg)}${maxPositionals ? "" : " (every option is a --flag)"}`,
        );
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--?/, "");
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind || !arg.startsWith("--")) {
      const known = Object.keys(spec)
        .map((flag) => `--${flag}`)
        .join(", ");
      throw new UsageError(`unknown flag ${eq === -1 ? arg : arg.slice(0, eq)} (known flags: ${known})`);
    }
    if (Object.hasOwn(flags, name)) throw new UsageError(`--${name} is given more than once`);
    if (kind === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i];
    if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
    flags[name] = value;
  }
  return { flags: flags as Flags<S>, positionals, help };
}

/** Parses and checks a base URL flag (http or https; no trailing slash kept). */
export function parseBaseUrl(text: string, flag = "--url"): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be a URL like http://127.0.0.1:8787 (got ${JSON.stringify(text)})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${flag} must start with http:// or https:// (got ${JSON.stringify(text)})`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Whether `importMetaUrl` is the module node was asked to run (not one imported by another script). */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(importMetaUrl));
  } catch {
    return false;
  }
}

/** Runs a script's main: a `UsageError` prints its message and the usage, and exits with 2. */
export function runMain(main: () => Promise<number | void>, usage: string): void {
  main().then(
    (code) => {
      if (typeof code === "number") process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`error: ${error.message}\n\n${usage}`);
        process.exitCode = 2;
        return;
      }
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}

/** A promise that resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
