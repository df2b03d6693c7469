/**
 * Starts the bare Durable Object broadcast (bench/bare/worker.ts) under `wrangler dev`, with the
 * compatibility date and flags of the project being benched, so both run the same runtime
 * behaviour (WebSocket compression included).
 */
import { mkdir, mkdtemp, readFile, rm, copyFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBackend } from "./backend";
import type { Backend } from "./backend";

const WORKER = new URL("./bare/worker.ts", import.meta.url).pathname;

/** The top-level `compatibility_date` and `compatibility_flags` lines of a wrangler.toml. */
export function compatibilityOf(toml: string): string[] {
  const top = toml.split(/^\[/m)[0]!;
  const lines = [/^compatibility_date\s*=.*$/m, /^compatibility_flags\s*=.*$/m].map((re) => re.exec(top)?.[0]);
  if (!lines[0]) throw new Error("the project's wrangler.toml has no top-level compatibility_date");
  return lines.filter((line): line is string => line !== undefined);
}

/** The bare broadcast, with the compatibility settings of the project copy at `project`. */
export async function startBare(project: string): Promise<Backend> {
  const compatibility = compatibilityOf(await readFile(join(project, "wrangler.toml"), "utf8"));
  const dir = await mkdtemp(join(tmpdir(), "hiscrm-bare-"));
  try {
    await mkdir(join(dir, "src"));
    await copyFile(WORKER, join(dir, "src/index.ts"));
    await writeFile(
      join(dir, "wrangler.toml"),
      [
        'name = "bench-bare-broadcast"',
        'main = "src/index.ts"',
        ...compatibility,
        "",
        "[[durable_objects.bindings]]",
        'name = "BROADCAST"',
        'class_name = "Broadcast"',
        "",
        "[[migrations]]",
        'tag = "v1"',
        'new_sqlite_classes = ["Broadcast"]',
        "",
      ].join("\n"),
    );
    return await startBackend({ from: dir });
  } finally {
    // startBackend ran from its own copy.
    await rm(dir, { recursive: true, force: true });
  }
}
