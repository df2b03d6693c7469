/**
 * §2 Ingest cost vs snapshot size: pushes of 1k, 10k and 12k comments (12k of ~335 B is near the 4 MiB push limit) with 0 %, 1 % and 100 %
 * new items, timed from request to answer, against just `JSON.parse` of the same body here.
 * Each round pushes a fresh window (100 % new), the same window again (0 %), then that window
 * with every 100th comment replaced by a new one (1 %), so the account's history grows as a
 * real one does. The answer's counts are checked: a wrong count fails the run.
 */
import { comments, pushBody } from "./snapshots";
import { ms, ratio, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-ingest";
const SIZES: { items: number; rounds: number; quickRounds: number }[] = [
  { items: 1_000, rounds: 8, quickRounds: 3 },
  { items: 10_000, rounds: 5, quickRounds: 2 },
  { items: 12_000, rounds: 3, quickRounds: 1 },
];
const KINDS = ["0 %", "1 %", "100 %"] as const;
type Kind = (typeof KINDS)[number];

type Answer = { counts?: { comments?: { new: number; updated: number } } };

/** The `error` of an error answer, or the text itself when it is not one (a failed connection). */
function errorOf(text: string): { code?: string; message?: string } {
  try {
    return (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? { message: text };
  } catch {
    return { message: text };
  }
}

/** Median time of `JSON.parse(body)` in this process over a few runs. */
function parseTime(body: string): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    JSON.parse(body);
    times.push(performance.now() - started);
  }
  return summarize(times).median;
}

export async function ingest(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  for (const { items, rounds, quickRounds } of SIZES) {
    const account = `ingest-${items}`;
    const times: Record<Kind, number[]> = { "0 %": [], "1 %": [], "100 %": [] };
    const parses: Record<Kind, number[]> = { "0 %": [], "1 %": [], "100 %": [] };
    let bytes = 0;
    const total = b.quick ? quickRounds : rounds;
    for (let round = 0; round < total; round++) {
      const from = round * 2 * items;
      const fresh = comments(account, from, items);
      const changed = fresh.map((c, i) => (i % 100 === 99 ? comments(account, from + items + i, 1)[0]! : c));
      const pushes: [Kind, string, number][] = [
        ["100 %", pushBody(account, { comments: fresh }), items],
        ["0 %", pushBody(account, { comments: fresh }), 0],
        ["1 %", pushBody(account, { comments: changed }), Math.floor(items / 100)],
      ];
      for (const [kind, body, expectNew] of pushes) {
        bytes = Math.max(bytes, Buffer.byteLength(body));
        const answer = await b.backend.push(TENANT, account, body);
        if (answer.status !== 200) {
          b.fail(`ingest ${items} items, ${kind} new: answered ${answer.status}: ${answer.text.slice(0, 300)}`);
          continue;
        }
        const counts = (JSON.parse(answer.text) as Answer).counts?.comments;
        if (counts?.new !== expectNew || counts.updated !== 0) {
          b.fail(
            `ingest ${items} items, ${kind} new: expected ${expectNew} new, 0 updated; got ${JSON.stringify(counts)}`,
          );
        }
        times[kind].push(answer.ms);
        parses[kind].push(parseTime(body));
      }
      b.progress(
        `ingest: ${items.toLocaleString("en-US")} items, round ${round + 1}/${total}: ` +
          KINDS.map((k) => `${k} new ${ms(times[k].at(-1) ?? NaN)}`).join(", "),
      );
    }
    for (const kind of KINDS) {
      const t = summarize(times[kind]);
      const parse = summarize(parses[kind]).median;
      rows.push({
        section: "2. Ingest (push request → answer)",
        name: `${items.toLocaleString("en-US")} items, ${kind} new`,
        median: t.median,
        p99: t.p99,
        n: t.n,
        notes: `${ratio(t.median / parse)} JSON.parse (${ms(parse)}); ${(bytes / 1024 / 1024).toFixed(1)} MiB body; ${((t.median * 1000) / items).toFixed(1)} µs/item`,
      });
    }
  }
  // Where one push ends. 13,000 comments of ~335 B are over the 4 MiB body limit; 9,500 of
  // ~430 B are just under it, with some Chinese in every item: as strings they would be twice
  // their size on the way to the account's object, as the UTF-8 they travel in they fit.
  const limits = [
    { count: 13_000, extra: " When is the next one coming out?" },
    {
      count: 9_500,
      extra: " When is the next one coming out? Please tell us soon, we are all waiting for it, thank you!!!",
    },
  ];
  for (const { count, extra } of limits) {
    const account = `ingest-limit-${count}`;
    const big = comments(account, 0, count).map((c) => ({
      ...c,
      author_avatar: `https://p3.douyinpic.com/aweme/100x100/aweme-avatar/tos-cn-i-0813_${c.author_id}.jpeg`,
      content: `${c.content}${extra}`,
    }));
    const body = pushBody(account, { comments: big });
    const answer = await b.backend.push(TENANT, account, body);
    const error = answer.status === 200 ? null : errorOf(answer.text);
    const size = `${Math.round(Buffer.byteLength(body) / count)} B`;
    if (answer.status >= 500) b.fail(`ingest: ${count} items of ${size} answered ${answer.status}: ${answer.text}`);
    rows.push({
      section: "2. Ingest (push request → answer)",
      name: `${count.toLocaleString("en-US")} items of ${size} (${(Buffer.byteLength(body) / 1024 / 1024).toFixed(1)} MiB)`,
      value: String(answer.status),
      notes: error ? `${error.code ? `${error.code}: ` : ""}${error.message ?? ""}` : "accepted",
    });
  }
  return rows;
}
