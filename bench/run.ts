/**
 * `npm run bench [-- --quick] [-- --only=idle,memory,fanout,ingest,history,sustained,replay,storage,bundle,restart] [-- --ref=<git ref>] [-- --no-write]`
 *
 * Starts the backend (`wrangler dev` on a free 127.0.0.1 port, fresh state), measures fan-out
 * (beside its peers), ingest, history reads, idle wake-ups, memory per socket (beside the bare
 * object), sustained load, a replay
 * after a long absence, storage per message and push memory, the adapter's bundle size and a
 * restart under load (bench/restart.ts, with a backend of its own that it kills; the bundle and
 * the restart always measure the working tree, whatever --ref says), prints a table and rewrites
 * the results block of docs/BENCHMARKS.md. Exits non-zero if anything failed (an error answer,
 * a lost message, a wake-up), never because something is slow.
 *
 * --quick   fewer trials and 15 s idle / sustained runs, for trying changes; writes no doc
 * --only    run some scenarios only (writes no doc)
 * --ref     bench a committed version (git archive of src/ and wrangler.toml) instead of the working tree
 * --against=<ref>  also start that version and bench it beside this one, trial by trial
 *                  (fan-out only; writes no doc): before/after without the machine's drift between runs
 * --no-write  print the table, leave docs/BENCHMARKS.md alone
 * --via-proxy  send requests and sockets through wrangler's dev proxy (--port) instead of
 *              straight to the workerd that runs the Worker (see bench/backend.ts); writes no doc
 */
import { startBackend } from "./backend";
import type { Backend } from "./backend";
import { bundle } from "./bundle";
import { fanout } from "./fanout";
import { history } from "./history";
import { idle } from "./idle";
import { ingest } from "./ingest";
import { memory } from "./memory";
import { storage } from "./storage";
import { describeMachine, load } from "./machine";
import { markdownResults, textTable, writeDoc, DOC } from "./report";
import { replay } from "./replay";
import { restart } from "./restart";
import { sustained } from "./sustained";
import type { Bench, Row } from "./types";

// Idle first: its memory figures need a runtime that nothing else has used yet.
const SCENARIOS = {
  idle,
  memory,
  fanout,
  ingest,
  history,
  sustained,
  replay,
  storage,
  bundle,
  restart,
} satisfies Record<string, (b: Bench) => Promise<Row[]>>;
type Scenario = keyof typeof SCENARIOS;

type Args = {
  quick: boolean;
  only: Scenario[] | null;
  ref?: string;
  against?: string;
  write: boolean;
  viaProxy: boolean;
};

function parseArgs(argv: string[]): Args {
  let quick = false;
  let only: Scenario[] | null = null;
  let ref: string | undefined;
  let against: string | undefined;
  let write = true;
  let viaProxy = false;
  for (const arg of argv) {
    if (arg === "--quick") quick = true;
    else if (arg === "--via-proxy") viaProxy = true;
    else if (arg === "--no-write") write = false;
    else if (arg.startsWith("--only=")) {
      const names = arg.slice("--only=".length).split(",");
      for (const name of names)
        if (!(name in SCENARIOS))
          throw new Error(`--only: unknown scenario ${name} (${Object.keys(SCENARIOS).join(", ")})`);
      only = names as Scenario[];
    } else if (arg.startsWith("--ref=")) ref = arg.slice("--ref=".length);
    else if (arg.startsWith("--against=")) against = arg.slice("--against=".length);
    else throw new Error(`unknown argument ${arg}; see the usage at the top of bench/run.ts`);
  }
  return { quick, only, ref, against, viaProxy, write: write && !quick && only === null && !viaProxy && !against };
}

function parametersOf(quick: boolean): string {
  return quick
    ? "--quick (reduced trials; 15 s idle and sustained runs)"
    : "fan-out 30 trials (1, 100 clients) / 20 trials (1,000) after 3 warm-ups, interleaved over the edge and its peers; ingest 8 / 5 / 3 rounds (1k / 10k / 12k items); " +
        "history 30 reads per case; idle 60 s with 1,000 clients pinging every 5 s; sustained 60 s, 100 accounts × 1 push/s, 500 clients; " +
        "storage 20,000 comments in pushes of 2,000, heap limits 32–128 MB, heap sampled 3 trials per push size";
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const progress = (message: string) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
    console.log(`[${seconds}s] ${message}`);
  };
  const failures: string[] = [];
  progress(`starting wrangler dev (${args.ref ? `ref ${args.ref}` : "working tree"}); machine load ${load()}`);
  let backend: Backend | null = null;
  let against: Backend | null = null;
  const stop = async () => {
    await Promise.all([backend?.stop(), against?.stop()]);
    backend = against = null;
  };
  process.once("SIGINT", () => {
    void stop().then(() => process.exit(130));
  });
  try {
    backend = await startBackend({ ref: args.ref, viaProxy: args.viaProxy });
    if (args.against) {
      against = await startBackend({ ref: args.against });
      progress(`beside it: ${against.source.label} on ${against.url}`);
    }
    const machine = await describeMachine(backend);
    const route = args.viaProxy
      ? "through wrangler's proxy"
      : `the Worker's workerd; wrangler's proxy is ${backend.proxyUrl}`;
    progress(
      `backend on ${backend.url} (${route}): ${machine.source}; workerd ${machine.workerd}, wrangler ${machine.wrangler}`,
    );
    const bench: Bench = {
      backend,
      against: against ?? undefined,
      quick: args.quick,
      progress,
      fail: (message) => {
        failures.push(message);
        progress(`FAIL: ${message}`);
      },
      startBackend: (options) => startBackend({ ref: args.ref, viaProxy: args.viaProxy, ...options }),
    };
    const rows: Row[] = [];
    for (const name of args.only ?? (Object.keys(SCENARIOS) as Scenario[])) {
      progress(`── ${name}`);
      try {
        rows.push(...(await SCENARIOS[name](bench)));
      } catch (error) {
        bench.fail(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`\n${textTable(rows)}\n`);
    console.log(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; node ${machine.node}, wrangler ${machine.wrangler}, workerd ${machine.workerd}`,
    );
    console.log(`load average at start ${machine.loadAtStart}, at end ${load()}; ${seconds.toFixed(0)} s`);
    if (args.write) {
      await writeDoc(markdownResults(rows, machine, parametersOf(args.quick), failures, seconds));
      console.log(`wrote ${DOC}`);
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    await stop();
  }
  if (failures.length) {
    console.error(`\n${failures.length} failure(s):\n${failures.map((f) => `  - ${f}`).join("\n")}`);
    return 1;
  }
  console.log("no failures");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
