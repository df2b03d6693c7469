import { describe, expect, it } from "vitest";
import { MAX_TOPICS_LISTED } from "../src/contract/schemas";
import { api, comment, push, roomSocket, token, uid } from "./helpers";

/** An account with `n` work topics, each with a comment: a third at times of their own, the rest at one time. */
async function accountWithTopics(n: number): Promise<string> {
  const account = uid("acc");
  const comments = Array.from({ length: n }, (_, i) =>
    comment(`c${i}`, `w${String(i).padStart(4, "0")}`, i % 3 === 0 ? {} : { create_time: 1_730_500_000 }),
  );
  const pushed = await push(account, { comments });
  expect(pushed.status).toBe(200);
  return account;
}

async function topicsOver(account: string, query = "") {
  return api(`/api/v1/accounts/${account}/topics${query}`, { token: await token("agent") });
}

/** Every page of `limit`, following `nextCursor` until there is none. */
async function allPages(account: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await topicsOver(account, `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    expect(res.json.topics.length).toBeLessThanOrEqual(limit);
    ids.push(...res.json.topics.map((t: { id: string }) => t.id));
    cursor = res.json.nextCursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

describe("the topic list in pages", () => {
  it("over HTTP: pages of `limit` follow nextCursor to the whole list, each topic once, in the list's order", async () => {
    const account = await accountWithTopics(25);
    const whole = await topicsOver(account);
    expect(whole.json.topics).toHaveLength(25);
    expect(whole.json.nextCursor).toBeUndefined();
    const { ids, pages } = await allPages(account, 4);
    expect(pages).toBe(7);
    expect(ids).toEqual(whole.json.topics.map((t: { id: string }) => t.id));
  });

  it("on the socket: monitor:request_topics takes the same limit and cursor", async () => {
    const account = await accountWithTopics(9);
    const socket = await roomSocket(account);
    const whole = await socket.request("monitor:request_topics", {}, "monitor:topics");
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await socket.request(
        "monitor:request_topics",
        { limit: 4, ...(cursor ? { cursor } : {}) },
        "monitor:topics",
      );
      expect(page.payload.channelId).toBe(account);
      ids.push(...page.payload.topics.map((t: { id: string }) => t.id));
      cursor = page.payload.nextCursor;
    } while (cursor);
    expect(ids).toEqual(whole.payload.topics.map((t: { id: string }) => t.id));
    socket.close();
  });

  it(`without a limit the answer holds the ${MAX_TOPICS_LISTED} newest and a nextCursor to the rest`, async () => {
    const account = await accountWithTopics(MAX_TOPICS_LISTED + 30);
    const first = await topicsOver(account);
    expect(first.json.topics).toHaveLength(MAX_TOPICS_LISTED);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const rest = await topicsOver(account, `?limit=200&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    expect(rest.json.topics).toHaveLength(30);
    expect(rest.json.nextCursor).toBeUndefined();
    const ids = [...first.json.topics, ...rest.json.topics].map((t: { id: string }) => t.id);
    expect(new Set(ids).size).toBe(MAX_TOPICS_LISTED + 30);
  });

  it("pages past topics whose ids are as long as ids go and escape in JSON", async () => {
    const account = uid("acc");
    const ids = ["\u0001", "价", "a"].map((unit) => unit.repeat(256));
    const pushed = await push(account, {
      comments: ids.map((id, i) => comment(`c${i}`, id, { create_time: 1_730_600_000 })),
    });
    expect(pushed.status).toBe(200);
    const { ids: paged } = await allPages(account, 1);
    // Compared as JSON: a failure message stays readable with control characters in it.
    expect(JSON.stringify([...paged].sort())).toBe(JSON.stringify([...ids].sort()));
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=201", "limit"],
    ["limit=ten", "limit"],
    ["cursor=not-a-cursor!", "cursor"],
    [`cursor=${btoa('{"time":1}')}`, "cursor"],
  ])("?%s is a 400 naming %s", async (query, field) => {
    const account = await accountWithTopics(2);
    const res = await topicsOver(account, `?${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "invalid_query", issues: [{ path: field }] });
  });

  it.each([
    [{ limit: 0 }, "payload.limit"],
    [{ limit: 201 }, "payload.limit"],
    [{ cursor: "bm90IGEgY3Vyc29y" }, "payload.cursor"],
  ])("monitor:request_topics %j is an error frame naming %s, and the socket stays open", async (payload, field) => {
    const account = await accountWithTopics(2);
    const socket = await roomSocket(account);
    const error = await socket.request("monitor:request_topics", payload, "monitor:topics");
    expect(error.type).toBe("error");
    expect(error.payload).toMatchObject({ code: "invalid_frame", issues: [{ path: field }] });
    expect((await socket.request("monitor:request_topics", {}, "monitor:topics")).payload.topics).toHaveLength(2);
    socket.close();
  });
});
