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
