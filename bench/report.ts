/**
 * The results as a table on stdout and as the generated part of docs/BENCHMARKS.md (between
 * two markers; the hand-written text around them is kept).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO } from "./backend";
import type { Machine } from "./machine";
import { ms } from "./stats";
import type { Row } from "./types";

export const DOC = join(REPO, "docs/BENCHMARKS.md");
const START = "<!-- bench:results:start (written by `npm run bench`; edit outside these markers) -->";
const END = "<!-- bench:results:end -->";

type Cells = [string, string, string, string, string];

function cells(row: Row): Cells {
  return [
    row.name,
    row.value ?? (row.median === undefined ? "" : ms(row.median)),
    row.p99 === undefined ? "" : ms(row.p99),
    row.n === undefined ? "" : String(row.n),
    row.notes ?? "",
  ];
}

const HEAD: Cells = ["case", "median", "p99", "n", "notes"];

function sections(rows: Row[]): [string, Row[]][] {
  const bySection = new Map<string, Row[]>();
  for (const row of rows) bySection.set(row.section, [...(bySection.get(row.section) ?? []), row]);
  // In the order of their numbers ("1. …", "2. …"), whatever order the scenarios ran in.
  return [...bySection.entries()].sort((a, b) => parseInt(a[0]) - parseInt(b[0]));
}

/** A plain-text table for the terminal. */
export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map((row) => cells({ ...row, name: `  ${row.name}` }))];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: Cells) =>
    c
      .map((cell, i) => (i === 1 || i === 2 || i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out: string[] = [line(HEAD), widths.map((w) => "─".repeat(w)).join("  ")];
  for (const [section, list] of sections(rows)) {
    out.push(section);
    for (const row of list) out.push(line(cells({ ...row, name: `  ${row.name}` })));
  }
  return out.join("\n");
}

const escape = (text: string) => text.replace(/\|/g, "\\|");

export function markdownResults(
  rows: Row[],
  machine: Machine,
  parameters: string,
  failures: string[],
  seconds: number,
): string {
  const out: string[] = [
    START,
    "",
    `### Last run: ${machine.date}`,
    "",
    "| machine | |",
    "|---|---|",
    `| CPU | ${escape(machine.cpu)}, ${machine.cores} cores |`,
    `| memory | ${machine.memoryGiB} GiB |`,
    `| OS | ${escape(machine.os)} |`,
    `| Node | ${machine.node} |`,
    `| wrangler | ${machine.wrangler} |`,
    `| workerd | ${escape(machine.workerd)} |`,
    `| code | ${escape(machine.source)} |`,
    `| load average at start (1/5/15 min) | ${machine.loadAtStart} |`,
    `| duration | ${seconds.toFixed(0)} s |`,
    "",
    `Parameters: ${parameters}`,
    "",
  ];
  for (const [section, list] of sections(rows)) {
    out.push(`#### ${section}`, "", "| case | median | p99 | n | notes |", "|---|--:|--:|--:|---|");
    for (const row of list) out.push(`| ${cells(row).map(escape).join(" | ")} |`);
    out.push("");
  }
  out.push(
    failures.length
      ? `**Failures (the run exited non-zero):**\n\n${failures.map((f) => `- ${escape(f)}`).join("\n")}`
      : "No failures: every push answered 200, every socket got every message, no wake-ups.",
  );
  out.push("", END);
  return out.join("\n");
}

/** Replaces the generated block of the doc (or appends it, or writes a stub doc around it). */
export async function writeDoc(block: string): Promise<void> {
  let doc = await readFile(DOC, "utf8").catch(() => "");
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  else if (doc) doc = `${doc.trimEnd()}\n\n## Results\n\n${block}\n`;
  else doc = `# Benchmarks\n\nRun \`npm run bench\`.\n\n## Results\n\n${block}\n`;
  // In the project's format, so `npm run lint` stays green after a run.
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(DOC)) ?? {};
  await writeFile(DOC, await prettier.format(doc, { ...options, filepath: DOC }));
}
