/**
 * §3 History reads: a page of 50 messages from a topic holding 100, 10,000 and 200,000
 * messages (the newest page and one from the middle), and the channel list of a tenant with
 * 10 and 1,000 accounts. Histories are seeded with pushes of up to 10,000 comments (under the 4 MiB push limit) into one work.
 */
import { inPool } from "./clients";
import { comment, comments, pushBody } from "./snapshots";
import { ms, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-history";
const TOPICS = [100, 10_000, 200_000];
const SEED_PUSH = 10_000;
const DIRECTORIES = [10, 1_000];
const CREATE_CONCURRENCY = 8;

async function timed(
  b: Bench,
  tenant: string,
  path: string,
  reads: number,
  check: (body: { messages?: unknown[]; channels?: unknown[] }) => string | null,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < reads; i++) {
    const answer = await b.backend.get(path, tenant);
    if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    const problem = check(JSON.parse(answer.text) as { messages?: unknown[]; channels?: unknown[] });
    if (problem) throw new Error(`GET ${path}: ${problem}`);
    times.push(answer.ms);
  }
  return times;
}

export async function history(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  const reads = b.quick ? 10 : 30;
  for (const size of TOPICS) {
    const account = `history-${size}`;
    const seedStarted = performance.now();
    for (let from = 0; from < size; from += SEED_PUSH) {
      const count = Math.min(SEED_PUSH, size - from);
      const answer = await b.backend.push(
        TENANT,
        account,
        pushBody(account, { comments: comments(account, from, count, 1) }),
      );
      if (answer.status !== 200)
        throw new Error(`seeding ${account} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    b.progress(
      `history: seeded ${size.toLocaleString("en-US")} messages in one topic in ${ms(performance.now() - seedStarted)}`,
    );
    const base = `/api/v1/accounts/${account}/topics/w0/messages?limit=50`;
    const newest = await timed(b, TENANT, base, reads, (body) =>
      body.messages?.length === Math.min(50, size) ? null : `expected ${Math.min(50, size)} messages`,
    );
    // Message seqs are event seqs: a little above the message count; half of it is mid-history.
    const middle = await timed(b, TENANT, `${base}&before=${Math.max(51, Math.floor(size / 2))}`, reads, (body) =>
      body.messages?.length === 50 ? null : `expected 50 messages`,
    );
    for (const [name, times] of [
      ["newest page", newest],
      ["page from the middle", middle],
    ] as const) {
      const t = summarize(times);
      rows.push({
        section: "3. History and channel-list reads (HTTP)",
        name: `topic of ${size.toLocaleString("en-US")} messages: ${name}`,
        median: t.median,
        p99: t.p99,
        n: t.n,
      });
    }
  }

  for (const count of DIRECTORIES) {
    const tenant = `bench-directory-${count}`;
    const created: number[] = [];
    const createStarted = performance.now();
    await inPool(count, CREATE_CONCURRENCY, async (i) => {
      const account = `channel-${i}`;
      const answer = await b.backend.push(
        tenant,
        account,
        pushBody(account, { comments: [comment(account, 0, "w0")] }),
      );
      if (answer.status !== 200)
        throw new Error(`creating ${account} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      created.push(answer.ms);
    });
    b.progress(
      `history: created ${count.toLocaleString("en-US")} accounts in ${ms(performance.now() - createStarted)}`,
    );
    const times = await timed(b, tenant, "/api/v1/accounts", reads, (body) =>
      body.channels?.length === count ? null : `expected ${count} channels, got ${body.channels?.length}`,
    );
    const t = summarize(times);
    rows.push({
      section: "3. History and channel-list reads (HTTP)",
      name: `channel list, ${count.toLocaleString("en-US")} accounts`,
      median: t.median,
      p99: t.p99,
      n: t.n,
    });
    if (count === Math.max(...DIRECTORIES)) {
      const c = summarize(created);
      rows.push({
        section: "3. History and channel-list reads (HTTP)",
        name: "an account's first push (creates its object)",
        median: c.median,
        p99: c.p99,
        n: c.n,
        notes: `${CREATE_CONCURRENCY} at a time`,
      });
    }
  }
  return rows;
}
