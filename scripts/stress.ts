/**
 * Finds flaky tests before CI does: runs test files (or the whole suite) again and again
 * while other processes keep every core busy, and reports each failure with its message.
 *
 *   npm run stress -- --runs=30 test-node/client/low-level.test.ts
 *   npm run stress -- --runs=5 --ci        # .ci/run on a fresh clone of HEAD, 5 times
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, stripVTControlCharacters } from "node:util";

const USAGE = `usage: npm run stress -- [--runs=N] [--load=K] [--name=PATTERN] [--ci] [--keep] [file…]

Runs the given test files (test/… and src/… in workerd, test-node/… and client/… in Node;
none: every file of both) N times, one run after another, while K processes spin on the CPU, and lists every
failure with its message. Exits 1 when any run failed.

  --runs=N       how many runs (default 10)
  --load=K       competing busy processes (default: one per core, ${availableParallelism()} here; 0 for none)
  --name=PATTERN only the tests whose name matches (vitest -t)
  --ci           each run is .ci/run on a fresh clone of HEAD as it is at the start (commit
                 first), as CI runs it
  --keep         keep the run directory (logs, clones) even when every run passed`;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

type Failure = { run: number; test: string; message: string };
type Outcome = { failures: Failure[]; seconds: number; log: string };

/** Spins until its parent is gone (checked now and then), so no burner outlives a killed script. */
const BURNER =
  "const parent = process.ppid; for (let i = 0; ; i++) if (i % 1e8 === 0 && process.ppid !== parent) process.exit();";

/** Busy loops, one process each, until stopped: what a loaded CI machine looks like to the tests. */
function startLoad(count: number): () => void {
  const burners: ChildProcess[] = [];
  for (let i = 0; i < count; i++) burners.push(spawn(process.execPath, ["-e", BURNER], { stdio: "ignore" }));
  const stop = () => {
    for (const burner of burners) burner.kill("SIGKILL");
  };
  process.once("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  }
  return stop;
}

function run(command: string, args: string[], options: { cwd: string; log: string; env?: NodeJS.ProcessEnv }) {
  return new Promise<number>((done) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: "pipe" });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("close", (code, signal) => {
      writeFileSync(options.log, Buffer.concat(chunks));
      done(code ?? (signal ? 128 : 1));
    });
  });
}

type JsonReport = {
  numPassedTests?: number;
  numFailedTests?: number;
  testResults?: {
    name: string;
    status: string;
    message?: string;
    assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
};

/** The failures a vitest JSON report lists: each failed test, and each file that failed outside a test (a hook). */
function failuresOf(report: JsonReport, runNumber: number): Failure[] {
  const failures: Failure[] = [];
  for (const file of report.testResults ?? []) {
    const name = relative(ROOT, file.name);
    const failed = (file.assertionResults ?? []).filter((test) => test.status === "failed");
    for (const test of failed) {
      failures.push({ run: runNumber, test: `${name} > ${test.fullName}`, message: test.failureMessages?.[0] ?? "" });
    }
    if (!failed.length && file.status === "failed") {
      failures.push({ run: runNumber, test: name, message: file.message ?? "the file failed outside its tests" });
    }
  }
  return failures;
}

/** One run of vitest per config the files need, each with a JSON report. */
async function vitestRun(runNumber: number, files: string[], name: string | undefined, dir: string): Promise<Outcome> {
  const configs = new Map<string, string[]>();
  for (const file of files.length ? files : ["test/", "test-node/"]) {
    const config = /^(test-node|client)\b/.test(relative(ROOT, resolve(file)))
      ? "vitest.node.config.mts"
      : "vitest.config.mts";
    configs.set(config, [...(configs.get(config) ?? []), ...(files.length ? [file] : [])]);
  }
  const started = Date.now();
  const failures: Failure[] = [];
  const logs: string[] = [];
  for (const [config, selected] of configs) {
    const tag = `run-${runNumber}-${config.replace(/\W+/g, "-")}`;
    const report = join(dir, `${tag}.json`);
    const log = join(dir, `${tag}.log`);
    logs.push(log);
    const args = ["vitest", "run", "-c", config, "--reporter=json", `--outputFile=${report}`, ...selected];
    if (name) args.push("-t", name);
    const code = await run("npx", args, { cwd: ROOT, log });
    let parsed: JsonReport | undefined;
    try {
      parsed = JSON.parse(readFileSync(report, "utf8")) as JsonReport;
    } catch {
      // No report: vitest itself failed; its log says why.
    }
    const found = parsed ? failuresOf(parsed, runNumber) : [];
    if (parsed && !found.length && !(parsed.numPassedTests ?? 0) && !(parsed.numFailedTests ?? 0)) {
      const why = name ? ` (does --name=${name} match a test?)` : "";
      found.push({ run: runNumber, test: `vitest -c ${config}`, message: `no test ran${why}` });
    }
    if (code !== 0 && !found.length) {
      const tail = stripVTControlCharacters(readFileSync(log, "utf8")).trim().split("\n").slice(-15).join("\n");
      found.push({ run: runNumber, test: `vitest -c ${config} (exit ${code})`, message: tail });
    }
    failures.push(...found);
  }
  return { failures, seconds: (Date.now() - started) / 1000, log: logs.join(", ") };
}

/** `.ci/run` as CI runs it: a fresh clone at `commit`, CI=true, nothing on standard input. */
async function ciRun(runNumber: number, dir: string, commit: string): Promise<Outcome> {
  const clone = join(dir, `clone-${runNumber}`);
  const log = join(dir, `run-${runNumber}-ci.log`);
  const started = Date.now();
  const cloned = await run("git", ["clone", "--quiet", "--no-checkout", ROOT, clone], { cwd: dir, log });
  if (cloned !== 0 || (await run("git", ["checkout", "--quiet", commit], { cwd: clone, log })) !== 0)
    throw new Error(`could not clone ${commit}: ${readFileSync(log, "utf8")}`);
  const code = await run("bash", [".ci/run"], { cwd: clone, log, env: { ...process.env, CI: "true" } });
  const text = stripVTControlCharacters(readFileSync(log, "utf8"));
  const failures: Failure[] = [];
  if (code !== 0) {
    // vitest's default reporter marks each failed test with ×, then prints its error under FAIL.
    const failed = text.split("\n").filter((line) => /^\s*(×|FAIL)\s/.test(line));
    const tail = text.trim().split("\n").slice(-15).join("\n");
    failures.push({
      run: runNumber,
      test: `.ci/run (exit ${code})`,
      message: [...new Set(failed), "…", tail].join("\n"),
    });
  } else {
    rmSync(clone, { recursive: true, force: true }); // its node_modules alone is hundreds of MB
  }
  return { failures, seconds: (Date.now() - started) / 1000, log };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        runs: { type: "string", default: "10" },
        load: { type: "string", default: String(availableParallelism()) },
        name: { type: "string" },
        ci: { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals: files } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runs = Number(values.runs);
  const load = Number(values.load);
  if (!Number.isInteger(runs) || runs < 1)
    return usage(`--runs must be a whole number of at least 1 (got ${values.runs})`);
  if (!Number.isInteger(load) || load < 0) return usage(`--load must be a whole number (got ${values.load})`);
  if (values.ci && (files.length || values.name))
    return usage("--ci runs the whole of .ci/run: give it no files or --name");

  const dir = mkdtempSync(join(tmpdir(), "stress-"));
  // Every run clones the commit HEAD was at the start, whatever is committed meanwhile.
  const commit = values.ci ? execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim() : "";
  const what = commit
    ? `.ci/run on a fresh clone of ${commit.slice(0, 7)}`
    : files.length
      ? files.join(" ")
      : "every test file";
  console.log(
    `${runs} runs of ${what}${values.name ? ` (tests matching ${values.name})` : ""} with ${load} busy processes; logs in ${dir}`,
  );
  const stopLoad = startLoad(load);
  const failures: Failure[] = [];
  let failedRuns = 0;
  try {
    for (let i = 1; i <= runs; i++) {
      const outcome = commit ? await ciRun(i, dir, commit) : await vitestRun(i, files, values.name, dir);
      failures.push(...outcome.failures);
      if (outcome.failures.length) failedRuns++;
      const verdict = outcome.failures.length ? `FAILED (${outcome.failures.length}; ${outcome.log})` : "passed";
      console.log(`run ${i}/${runs}: ${verdict} in ${outcome.seconds.toFixed(0)} s`);
    }
  } finally {
    stopLoad();
  }
  console.log(`\n${runs - failedRuns} of ${runs} runs passed`);
  for (const failure of failures) {
    const message = stripVTControlCharacters(failure.message).trim().split("\n").slice(0, 20).join("\n    ");
    console.log(`\nrun ${failure.run}: ${failure.test}\n    ${message}`);
  }
  if (failures.length || values.keep) console.log(`\nlogs: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return failures.length ? 1 : 0;
}

function usage(message: string): number {
  console.error(`error: ${message}\n\n${USAGE}`);
  return 2;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
