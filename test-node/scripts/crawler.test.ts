import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { parseItems, pushEnvelope } from "../../src/contract/snapshot";
import { UsageError } from "../../scripts/cli";
import { DEFAULT_ACCOUNTS, describePush, parseCrawlerArgs, runCrawler } from "../../scripts/crawler";
import { generateSnapshot, simAccount, WINDOW } from "../../scripts/crawler/world";
import type { SnapshotBody } from "../../scripts/crawler/world";

const AT = Date.UTC(2026, 4, 1, 10, 0, 0);
const MINUTE = 60_000;
const brandA = simAccount("douyin-1001");
const brandB = simAccount("douyin-2002");

const ids = (items: Record<string, unknown>[], key: string) => items.map((item) => String(item[key]));
const all = (body: SnapshotBody) => Object.values(body.snapshot).flat();

/** Snapshots of an account every `step` ms over `minutes`. */
function series(account = brandA, minutes = 60, step = 3_000, seed?: string): SnapshotBody[] {
  const list: SnapshotBody[] = [];
  for (let t = AT; t < AT + minutes * MINUTE; t += step) list.push(generateSnapshot(account, t, seed));
  return list;
}

describe("generateSnapshot", () => {
  it.each([brandA, brandB])("gives a body the backend accepts with no rejected item ($id)", (account) => {
    for (const body of series(account, 30, 37_000)) {
      const envelope = pushEnvelope.safeParse(JSON.parse(JSON.stringify(body)));
      expect(envelope.success).toBe(true);
      if (!envelope.success) return;
      const parsed = parseItems(envelope.data, body.timestamp);
      expect(parsed.rejected).toEqual([]);
      expect(parsed.accountId).toBe(account.id);
    }
  });

  it("fills every list of the snapshot, within the window", () => {
    const { snapshot, account } = generateSnapshot(brandA, AT);
    expect(account).toMatchObject({ name: "Brand A", platform_user_id: "1001" });
    expect(snapshot.contents.length).toBeGreaterThanOrEqual(WINDOW.works);
    expect(snapshot.comments).toHaveLength(WINDOW.comments);
    expect(snapshot.messages).toHaveLength(WINDOW.messages);
    expect(snapshot.notifications).toHaveLength(WINDOW.notifications);
    expect(snapshot.conversations.length).toBeGreaterThan(2);
    expect(snapshot.conversations.length).toBeLessThanOrEqual(WINDOW.conversations);
  });

  it("names the two demo brands Brand A and Brand B, and others Brand C…", () => {
    expect(DEFAULT_ACCOUNTS.map((id, i) => simAccount(id, i).name)).toEqual(["Brand A", "Brand B"]);
    expect(simAccount("xhs-77", 2).name).toBe("Brand E");
  });

  it("puts every comment on a work the snapshot carries and every DM in a conversation it lists", () => {
    for (const body of series(brandA, 120, 5 * MINUTE)) {
      const works = new Set(ids(body.snapshot.contents, "work_id"));
      for (const comment of body.snapshot.comments) expect(works).toContain(comment.work_id);
      const conversations = new Set(ids(body.snapshot.conversations, "conversation_id"));
      const latest = body.snapshot.messages.at(-1)!;
      expect(conversations).toContain(latest.conversation_id);
    }
  });

  it("adds new comments and DMs as time goes on, and lets old ones drop out", () => {
    const first = generateSnapshot(brandA, AT);
    const later = generateSnapshot(brandA, AT + 2 * MINUTE);
    const newComments = ids(later.snapshot.comments, "comment_id").filter(
      (id) => !ids(first.snapshot.comments, "comment_id").includes(id),
    );
    const newDms = ids(later.snapshot.messages, "msg_id").filter(
      (id) => !ids(first.snapshot.messages, "msg_id").includes(id),
    );
    expect(newComments.length).toBeGreaterThan(0);
    expect(newDms.length).toBeGreaterThan(0);
    // The window moved: the oldest comment of the first snapshot is no longer in it.
    expect(ids(later.snapshot.comments, "comment_id")).not.toContain(first.snapshot.comments[0]!.comment_id);
  });

  it("re-scraping a moment later mostly repeats items unchanged, with occasional like_count edits", () => {
    const first = generateSnapshot(brandA, AT);
    const later = generateSnapshot(brandA, AT + 3_000);
    const before = new Map(first.snapshot.comments.map((c) => [c.comment_id, JSON.stringify(c)]));
    const repeated = later.snapshot.comments.filter((c) => before.has(c.comment_id));
    const unchanged = repeated.filter((c) => before.get(c.comment_id) === JSON.stringify(c));
    expect(unchanged.length).toBeGreaterThan(repeated.length / 2);
    // Over an hour, likes do change on comments still in the window.
    const hour = series(brandA, 60, 30_000);
    const likes = new Map<unknown, Set<unknown>>();
    for (const body of hour)
      for (const c of body.snapshot.comments)
        likes.set(c.comment_id, (likes.get(c.comment_id) ?? new Set()).add(c.like_count));
    expect([...likes.values()].some((seen) => seen.size > 1)).toBe(true);
  });

  it("writes like a Douyin account: Chinese and English names, emoji, images, both directions", () => {
    const hour = series(brandA, 60, MINUTE);
    const names = new Set(hour.flatMap((b) => b.snapshot.comments.map((c) => String(c.author_name))));
    expect([...names].some((n) => /\p{Script=Han}/u.test(n))).toBe(true);
    expect([...names].some((n) => /^[A-Za-z ]+$/.test(n))).toBe(true);
    const texts = hour.flatMap((b) => b.snapshot.comments.map((c) => String(c.content)));
    expect(texts.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    const dms = hour.flatMap((b) => b.snapshot.messages);
    expect(dms.some((m) => m.msg_type === "image" && typeof m.file_url === "string")).toBe(true);
    expect(new Set(dms.map((m) => m.direction))).toEqual(new Set(["in", "out"]));
    // The brand answers comments too: as itself, replying to a fan's comment.
    const brandReplies = hour.flatMap((b) => b.snapshot.comments).filter((c) => c.author_id === "1001");
    expect(brandReplies.length).toBeGreaterThan(0);
    expect(brandReplies.every((c) => typeof c.parent_comment_id === "string")).toBe(true);
  });

  it("gives the same snapshots for the same seed, and other ones for another seed", () => {
    expect(series(brandB, 5, 20_000, "alpha")).toEqual(series(brandB, 5, 20_000, "alpha"));
    const other = generateSnapshot(brandB, AT, "beta");
    expect(JSON.stringify(all(other))).not.toBe(JSON.stringify(all(generateSnapshot(brandB, AT, "alpha"))));
  });

  it("gives the two accounts different content", () => {
    const a = ids(generateSnapshot(brandA, AT).snapshot.contents, "title");
    const b = ids(generateSnapshot(brandB, AT).snapshot.contents, "title");
    expect(a.filter((title) => b.includes(title))).toEqual([]);
  });
});

describe("parseCrawlerArgs", () => {
  it("defaults to the local backend, tenant demo, both brands, every 3 s", () => {
    expect(parseCrawlerArgs([])).toEqual({
      url: "http://127.0.0.1:8787",
      tenant: "demo",
      intervalMs: 3_000,
      once: false,
      accounts: ["douyin-1001", "douyin-2002"],
      seed: "hiscrm",
    });
  });

  it("takes its options", () => {
    expect(
      parseCrawlerArgs([
        "--url",
        "http://localhost:9000/",
        "--tenant",
        "acme",
        "--interval",
        "0.5",
        "--once",
        "--accounts",
        "a,b,c",
        "--seed",
        "x",
      ]),
    ).toEqual({
      url: "http://localhost:9000",
      tenant: "acme",
      intervalMs: 500,
      once: true,
      accounts: ["a", "b", "c"],
      seed: "x",
    });
  });

  it.each([
    [["--interval", "fast"], '--interval must be a number of seconds from 0.1 to 3600 (got "fast")'],
    [["--url", "localhost:8787"], '--url must start with http:// or https:// (got "localhost:8787")'],
    [["--url", "127.0.0.1:8787"], '--url must be a URL like http://127.0.0.1:8787 (got "127.0.0.1:8787")'],
    [["--once=yes"], "--once takes no value"],
    [["--loop"], "unknown flag --loop (known flags: --url, --tenant, --interval, --once, --accounts, --seed)"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseCrawlerArgs(argv)).toThrow(new UsageError(message));
  });
});

describe("describePush", () => {
  it("says what a push brought in one line", () => {
    const line = describePush(brandA, {
      ok: true,
      seq: 57,
      counts: {
        comments: { received: 40, new: 2, updated: 1 },
        messages: { received: 30, new: 1, updated: 0 },
        contents: { received: 4, new: 0, updated: 1 },
      },
      rejected: [],
      warnings: [],
    });
    expect(line).toMatch(/^douyin-1001 Brand A\s+seq\s+57\s+new 2 comments, 1 DM\s+updated 2$/);
    expect(
      describePush(brandB, {
        ok: true,
        seq: 3,
        counts: { comments: { received: 40, new: 0, updated: 0 } },
        rejected: [],
        warnings: [],
      }),
    ).toMatch(/no changes$/);
  });
});

describe("runCrawler", () => {
  /** A stand-in backend that gives the answers in order, then 200s. */
  async function backendAnswering(answers: { status: number; body: string }[]) {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      const answer = answers.shift() ?? {
        status: 200,
        body: JSON.stringify({
          ok: true,
          seq: 9,
          counts: { comments: { received: 3, new: 3, updated: 0 } },
          rejected: [],
        }),
      };
      response.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  const once = (url: string) => ({ ...parseCrawlerArgs(["--once", "--accounts", "douyin-1001"]), url });

  it("waits out 503s from a reloading wrangler dev, then pushes", async () => {
    const backend = await backendAnswering([
      { status: 503, body: "Your worker restarted mid-request. Please try sending the request again." },
      { status: 503, body: "Your worker restarted mid-request. Please try sending the request again." },
    ]);
    const lines: string[] = [];
    try {
      const ok = await runCrawler(once(backend.url), { log: (line) => lines.push(line), retryMs: 10 });
      expect(ok).toBe(true);
      expect(backend.seen).toEqual(Array(3).fill("POST /api/v1/accounts/douyin-1001/sync"));
      expect(lines).toEqual([
        expect.stringMatching(/waiting for the backend at .* \(HTTP 503: Your worker restarted mid-request/),
        expect.stringMatching(/backend is up$/),
        expect.stringMatching(/douyin-1001 Brand A\s+seq\s+9\s+new 3 comments$/),
      ]);
    } finally {
      await backend.close();
    }
  });

  it("reports a refused push once, without sending it again", async () => {
    const refusal = { error: { code: "invalid_body", message: "snapshot.comments[0].content: Required" } };
    const backend = await backendAnswering([{ status: 400, body: JSON.stringify(refusal) }]);
    const lines: string[] = [];
    try {
      const ok = await runCrawler(once(backend.url), { log: (line) => lines.push(line), retryMs: 10 });
      expect(ok).toBe(false);
      expect(backend.seen).toHaveLength(1);
      expect(lines).toEqual([
        expect.stringMatching(
          /douyin-1001 push failed: HTTP 400 invalid_body: snapshot\.comments\[0\]\.content: Required$/,
        ),
      ]);
    } finally {
      await backend.close();
    }
  });
});
