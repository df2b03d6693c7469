/**
 * The weight a browser pays for the client: everything `client/adapter.ts` exports, bundled
 * as an app would (esbuild, ESM, minified, nothing external), and the console's built
 * scripts. Minified and gzip bytes; a scenario of `npm run bench`, or alone with
 * `npx tsx bench/bundle.ts`. An adapter over its budget (docs/CLIENT.md) fails the run.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { buildConsole } from "../scripts/build-console";
import { isMain, runMain } from "../scripts/cli";
import { REPO } from "./backend";
import type { Bench, Row } from "./types";

/** The adapter's budget, minified (issue 14). */
export const ADAPTER_BUDGET_BYTES = 80 * 1024;

export type Sizes = { minified: number; gzip: number; largest: string };

/** The adapter bundled for the browser, with the input that weighs most in it. */
export async function adapterSizes(): Promise<Sizes> {
  const result = await build({
    entryPoints: [join(REPO, "client/adapter.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  const inputs = Object.values(result.metafile.outputs)[0]!.inputs;
  const [largest] = Object.entries(inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  return { minified: code.length, gzip: gzipSync(code).length, largest: largest ? largest[0] : "" };
}

/** The console's scripts as `npm run build:console` leaves them (built first if stale). */
export async function consoleSizes(): Promise<Sizes> {
  await buildConsole();
  const assets = join(REPO, "console/dist/assets");
  const scripts = (await readdir(assets)).filter((name) => name.endsWith(".js"));
  let minified = 0;
  let gzip = 0;
  for (const name of scripts) {
    const code = await readFile(join(assets, name));
    minified += code.length;
    gzip += gzipSync(code).length;
  }
  return { minified, gzip, largest: scripts.join(", ") };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** The bench scenario: two rows, no backend needed. */
export async function bundle(bench: Pick<Bench, "progress" | "fail">): Promise<Row[]> {
  const adapter = await adapterSizes();
  const consoleJs = await consoleSizes();
  if (adapter.minified > ADAPTER_BUDGET_BYTES) {
    bench.fail(`adapter bundle is ${kb(adapter.minified)}, over its ${kb(ADAPTER_BUDGET_BYTES)} budget`);
  }
  bench.progress(`adapter ${kb(adapter.minified)} (${kb(adapter.gzip)} gzip); console ${kb(consoleJs.minified)}`);
  return [
    {
      section: "bundle",
      name: "client/adapter.ts, esbuild ESM minified",
      value: `${kb(adapter.minified)} (${kb(adapter.gzip)} gzip)`,
      notes: `budget ${kb(ADAPTER_BUDGET_BYTES)}; largest input ${adapter.largest}`,
    },
    {
      section: "bundle",
      name: "console scripts, Vite build",
      value: `${kb(consoleJs.minified)} (${kb(consoleJs.gzip)} gzip)`,
    },
  ];
}

async function main(): Promise<number> {
  let failed = false;
  const rows = await bundle({
    progress: () => {},
    fail: (message) => {
      failed = true;
      console.error(`FAIL: ${message}`);
    },
  });
  for (const row of rows) console.log(`${row.name}: ${row.value}${row.notes ? ` — ${row.notes}` : ""}`);
  return failed ? 1 : 0;
}

if (isMain(import.meta.url)) runMain(main, "usage: npx tsx bench/bundle.ts");
