/** The machine and the versions a run happened on, so runs can be compared. */
import { readFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { REPO } from "./backend";
import type { Backend } from "./backend";

export type Machine = {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  wrangler: string;
  workerd: string;
  source: string;
  date: string;
  loadAtStart: string;
};

async function packageVersion(path: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(join(REPO, path, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

async function osName(): Promise<string> {
  const text = await readFile("/etc/os-release", "utf8").catch(() => "");
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? "Linux";
  return `${pretty}, kernel ${release()}`;
}

export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

/** CPU time (user + system, ms) the processes `pids` have used so far, from /proc; a process gone counts 0. */
export async function cpuMs(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (stat) ticks += Number(fields[11]) + Number(fields[12]);
  }
  // Linux reports in clock ticks of 1/100 s (`getconf CLK_TCK`).
  return ticks * 10;
}

export async function describeMachine(backend: Backend): Promise<Machine> {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: await osName(),
    node: process.version,
    wrangler: await packageVersion("node_modules/wrangler"),
    workerd: (await backend.workerdVersion()).replace(/^workerd\s+/, ""),
    source: backend.source.label,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    loadAtStart: load(),
  };
}
