/**
 * `npm run build:console` — and wrangler's `[build]` command, so every `wrangler dev`,
 * `npm start`, test backend and `npm run build` serves a current console.
 *
 * Builds `console/` with Vite into `console/dist`, unless what is there was built from the
 * same sources (a hash of them is kept in `console/dist/.build-hash`): wrangler runs this on
 * every start, and the tests start many backends at once. A build goes to a directory of its
 * own first and is then moved into place, so a backend never serves a half-written console.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { isMain, runMain } from "./cli";
import { REPO_ROOT } from "./backend";

const CONSOLE = join(REPO_ROOT, "console");
const CONSOLE_DIST = join(CONSOLE, "dist");
const HASH_FILE = ".build-hash";
/** What the bundle is made of: the console, the adapter and the protocol it imports, the locked dependencies, this build. */
const INPUTS = ["console", "client", "src", "package-lock.json", "scripts/build-console.ts"];
const SKIPPED = new Set(["dist", "node_modules"]);

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => !SKIPPED.has(name) && !name.startsWith(".dist-"))
    .sort()
    .flatMap((name) => files(join(path, name)));
}

/** A hash of every input file's path and content. */
function sourceHash(): string {
  const hash = createHash("sha256");
  for (const file of INPUTS.flatMap((input) => files(join(REPO_ROOT, input)))) {
    hash.update(relative(REPO_ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

function builtHash(): string | null {
  try {
    return readFileSync(join(CONSOLE_DIST, HASH_FILE), "utf8").trim();
  } catch {
    return null;
  }
}

/** Builds the console unless `console/dist` is current; returns whether it built. */
export async function buildConsole(options: { force?: boolean } = {}): Promise<boolean> {
  const hash = sourceHash();
  if (!options.force && builtHash() === hash) return false;
  const staging = join(CONSOLE, `.dist-${process.pid}-${Date.now()}`);
  // Vite decides production (minified JSX, no source paths in the bundle) from NODE_ENV alone
  // when called from code, and wrangler's [build] may run us with it unset or "development".
  process.env.NODE_ENV = "production";
  // Loaded only when there is something to build: most runs find the console current.
  const { build } = await import("vite");
  try {
    await build({
      mode: "production",
      configFile: join(CONSOLE, "vite.config.ts"),
      build: { outDir: staging, emptyOutDir: true },
    });
    writeFileSync(join(staging, HASH_FILE), `${hash}\n`);
    swapInto(staging, options.force ?? false);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return true;
}

/**
 * Moves a finished build to `console/dist`; another process's identical build may have got
 * there first, which is kept unless the build was forced.
 */
function swapInto(staging: string, force: boolean): void {
  try {
    renameSync(staging, CONSOLE_DIST);
    return;
  } catch {
    // console/dist exists: an older build, an empty directory, or a concurrent build of the same sources.
  }
  if (!force && builtHash() === readFileSync(join(staging, HASH_FILE), "utf8").trim()) return;
  const old = `${staging}-old`;
  renameSync(CONSOLE_DIST, old);
  renameSync(staging, CONSOLE_DIST);
  rmSync(old, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const force = process.argv.includes("--force");
  const built = await buildConsole({ force });
  console.log(built ? `console built into ${relative(process.cwd(), CONSOLE_DIST) || "."}` : "console is up to date");
  return 0;
}

if (isMain(import.meta.url)) runMain(main, "usage: npm run build:console [-- --force]");
