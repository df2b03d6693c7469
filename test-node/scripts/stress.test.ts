/**
 * `npm run stress` as a developer runs it: a passing test file counted as passed, a failing
 * run listed with what failed and a non-zero exit, and a mistake on the command line named.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const execute = promisify(execFile);

/** The script's output and exit code; no competing load, so the test itself stays quick. */
async function stress(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execute(TSX, ["scripts/stress.ts", "--load=0", ...args], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe("npm run stress", () => {
  it("runs a file as many times as asked and says every run passed", { timeout: 120_000 }, async () => {
    const { code, output } = await stress("--runs=2", "client/pacer.test.ts");
    expect(output).toMatch(/run 1\/2: passed/);
    expect(output).toMatch(/run 2\/2: passed/);
    expect(output).toContain("2 of 2 runs passed");
    expect(code).toBe(0);
  });

  it("lists a failed run with what failed and exits 1", { timeout: 120_000 }, async () => {
    // No test has this name, so none runs: the script must say so, not count the run passed.
    const { code, output } = await stress("--runs=1", "--name=no test is called this", "client/pacer.test.ts");
    expect(output).toMatch(/run 1\/1: FAILED/);
    expect(output).toContain("0 of 1 runs passed");
    expect(output).toContain("no test ran (does --name=no test is called this match a test?)");
    expect(code).toBe(1);
  });

  it("names a bad flag and exits 2", async () => {
    const { code, output } = await stress("--runs=many");
    expect(output).toContain("--runs must be a whole number");
    expect(code).toBe(2);
  });
});
