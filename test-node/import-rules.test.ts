/**
 * The import rules of `npm run lint` (.dependency-cruiser.cjs) and its commit-path rule
 * (eslint.config.js) catch what they are written for: each case copies the sources to a scratch
 * directory, breaks one rule there, and runs the same command lint runs. The untouched copy
 * passes, so a failure is the broken rule's.
 */
import { execFile } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const DEPCRUISE = ["depcruise", "src", "client", "console/src"];

/** A copy of what the rules look at, with `change` applied; the answer of a lint command (`npm run lint`'s) on it. */
async function lintCopy(
  change: (dir: string) => void,
  [tool, ...args]: string[] = DEPCRUISE,
): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "import-rules-"));
  scratch.push(dir);
  for (const path of [
    "src",
    "client",
    "console/src",
    "scripts",
    ".dependency-cruiser.cjs",
    "eslint.config.js",
    "tsconfig.json",
    "package.json",
  ]) {
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  change(dir);
  try {
    const { stdout } = await run(join(ROOT, "node_modules", ".bin", tool!), args, { cwd: dir });
    return { ok: true, output: stdout };
  } catch (error) {
    return { ok: false, output: (error as { stdout?: string }).stdout ?? String(error) };
  }
}

const add = (dir: string, path: string, text: string) => appendFileSync(join(dir, path), `\n${text}\n`);

describe.concurrent("the import rules", () => {
  it("pass on the sources as they are", async () => {
    const { ok, output } = await lintCopy(() => {});
    expect(output).toContain("no dependency violations found");
    expect(ok).toBe(true);
  });

  const cases: [rule: string, what: string, change: (dir: string) => void][] = [
    [
      "lib-is-the-bottom",
      "src/lib imports an object",
      (dir) => add(dir, "src/lib/hash.ts", 'export { AccountRoom } from "../objects/AccountRoom";'),
    ],
    [
      "contract-imports-only-lib",
      "the contract imports the operator settings",
      (dir) => add(dir, "src/contract/errors.ts", 'export { readConfig } from "../config";'),
    ],
    [
      "shared-rules-stay-low",
      "a shared rule imports an object",
      (dir) => add(dir, "src/health.ts", 'export { AccountRoom } from "./objects/AccountRoom";'),
    ],
    [
      "http-below-routes",
      "what every route uses imports a route",
      (dir) => add(dir, "src/http/validate.ts", 'export { ws } from "../routes/ws";'),
    ],
    [
      "sockets-belong-to-the-objects",
      "a route imports the objects' socket layer",
      (dir) => add(dir, "src/routes/ws.ts", 'export { send } from "../objects/sockets/socket";'),
    ],
    [
      "objects-front-doors-only",
      "a route imports an object's commit path instead of its front door",
      (dir) => add(dir, "src/routes/stats.ts", 'export { CommitPath } from "../objects/commit";'),
    ],
    [
      "lower-layers-never-import-the-tools",
      "the client imports a script",
      (dir) => add(dir, "client/urls.ts", 'export { parseFlags } from "../scripts/cli";'),
    ],
    [
      "console-through-the-client",
      "the console reads the contract around the client",
      (dir) => add(dir, "console/src/format.ts", 'export type { Channel } from "../../src/contract/wire";'),
    ],
    [
      "objects-never-import-http",
      "an object imports a route",
      (dir) => add(dir, "src/objects/Directory.ts", 'export { ws } from "../routes/ws";'),
    ],
    [
      "room-parts-are-private",
      "a route imports the AccountRoom's storage",
      (dir) => add(dir, "src/routes/im.ts", 'export { RoomStore } from "../objects/room/store/room-store";'),
    ],
    [
      "directory-parts-are-private",
      "the room imports the Directory's statistics",
      (dir) => add(dir, "src/objects/room/housekeeping.ts", 'export { statsOf } from "../directory/stats";'),
    ],
    [
      "no-circular",
      "two modules import each other",
      (dir) => {
        writeFileSync(
          join(dir, "src/lib/left.ts"),
          'import { right } from "./right";\nexport const left = () => right;\n',
        );
        writeFileSync(
          join(dir, "src/lib/right.ts"),
          'import { left } from "./left";\nexport const right = () => left;\n',
        );
      },
    ],
    [
      "client-takes-only-types-from-src",
      "the client takes a zod schema (a value) from the contract",
      (dir) => add(dir, "client/urls.ts", 'export { roomClientFrame } from "../src/contract/schemas";'),
    ],
    [
      "wire-builds-nothing",
      "the client's wire module imports zod's schemas",
      (dir) => add(dir, "src/contract/wire.ts", 'export { roomClientFrame } from "./schemas";'),
    ],
  ];

  it.each(cases)("fail with %s when %s", async (rule, _what, change) => {
    const { ok, output } = await lintCopy(change);
    expect(output).toContain(`error ${rule}:`);
    expect(ok).toBe(false);
  });

  it("let the client take the contract's types", async () => {
    const { ok, output } = await lintCopy((dir) =>
      add(dir, "client/urls.ts", 'export type { RoomClientFrame } from "../src/contract/schemas";'),
    );
    expect(output).toContain("no dependency violations found");
    expect(ok).toBe(true);
  });
});

describe.concurrent("the commit-path rule (eslint)", () => {
  const ESLINT = ["eslint", "src/objects"];

  it("passes on the objects as they are", async () => {
    const { ok, output } = await lintCopy(() => {}, ESLINT);
    expect(output).toBe("");
    expect(ok).toBe(true);
  });

  it("fails when an object's part opens a transaction of its own", async () => {
    const { ok, output } = await lintCopy(
      (dir) =>
        add(
          dir,
          "src/objects/room/housekeeping.ts",
          "export const sideDoor = (ctx: DurableObjectState) => ctx.storage.transactionSync(() => 1);",
        ),
      ESLINT,
    );
    expect(output).toContain("Run a change through CommitPath");
    expect(ok).toBe(false);
  });

  it("fails when an object's part sends events itself", async () => {
    const { ok, output } = await lintCopy(
      (dir) =>
        add(
          dir,
          "src/objects/room/frames.ts",
          "export const early = (fanout: import('./delivery/fanout').Fanout) => fanout.broadcast([]);",
        ),
      ESLINT,
    );
    expect(output).toContain("Events are sent by CommitPath");
    expect(ok).toBe(false);
  });
});
