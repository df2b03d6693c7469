import { describe, expect, it } from "vitest";
import { api, comment, conversation, dm, push, token, uid, work } from "./helpers";

/** GET on the compatibility API as an agent of tenant t1. */
async function im(path: string) {
  return api(path, { token: await token("agent") });
}

/** Pushes `n` comments on one work, oldest first, with times one second apart (seconds). */
async function pushComments(account: string, n: number, start = 1_731_000_000) {
  const comments = Array.from({ length: n }, (_, i) => comment(`c${i}`, "w1", { create_time: start + i }));
  const res = await push(account, { contents: [work("w1")], comments });
  expect(res.status).toBe(200);
  return comments.map((c) => c.comment_id).reverse();
}

/** The compatibility error shape (§8): a 4xx, a non-zero status_code and a message. */
function expectImError(res: { status: number; json: any }, parameter: string) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.json).toEqual({ status_code: expect.any(Number), status_msg: expect.any(String) });
  expect(res.json.status_code).not.toBe(0);
  expect(res.json.status_msg).toContain(parameter);
}

describe("GET /api/im/conversations", () => {
  it("lists conversations in the Douyin shape, with times in seconds", async () => {
    const account = uid("acc");
    await push(account, {
      conversations: [conversation("cv1", { update_time: 1_731_000_000 })],
      messages: [dm("m1", "cv1", { content: "is it in stock?", create_time: 1_731_000_500 })],
    });
    const res = await im(`/api/im/conversations?account_id=${account}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        conversations: [
          {
            conversation_id: "cv1",
            user: { uid: "p-cv1", nickname: "Buyer cv1", avatar_thumb: { url_list: ["https://cdn.example/cv1.png"] } },
            unread_count: 1,
            last_message: { content: "is it in stock?", create_time: 1_731_000_500 },
          },
        ],
        cursor: 1,
        has_more: false,
      },
      status_code: 0,
    });
  });

  it("gives a conversation's update_time in milliseconds back in seconds", async () => {
    const account = uid("acc");
    await push(account, { conversations: [conversation("cv1", { update_time: 1_731_000_000_789 })] });
    const res = await im(`/api/im/conversations?account_id=${account}`);
    expect(res.json.data.conversations[0].last_message.create_time).toBe(1_731_000_000);
  });

  it("lists the newest conversation first", async () => {
    const account = uid("acc");
    await push(account, {
      conversations: [
        conversation("cv-old", { update_time: 1_731_000_000 }),
        conversation("cv-new", { update_time: 1_731_000_900_000 }),
        conversation("cv-mid", { update_time: 1_731_000_500 }),
      ],
    });
    const res = await im(`/api/im/conversations?account_id=${account}`);
    expect(res.json.data.conversations.map((c: any) => c.conversation_id)).toEqual(["cv-new", "cv-mid", "cv-old"]);
  });

  it("lists only conversations, never works", async () => {
    const account = uid("acc");
    await push(account, {
      contents: [work("w1")],
      comments: [comment("c1", "w1")],
      conversations: [conversation("cv1")],
    });
    const res = await im(`/api/im/conversations?account_id=${account}`);
    expect(res.json.data.conversations.map((c: any) => c.conversation_id)).toEqual(["cv1"]);
  });

  it("pages with count and cursor", async () => {
    const account = uid("acc");
    const conversations = Array.from({ length: 5 }, (_, i) =>
      conversation(`cv${i}`, { update_time: 1_731_000_000 + i }),
    );
    await push(account, { conversations });
    const first = await im(`/api/im/conversations?account_id=${account}&count=2`);
    expect(first.json.data.conversations.map((c: any) => c.conversation_id)).toEqual(["cv4", "cv3"]);
    expect(first.json.data).toMatchObject({ cursor: 2, has_more: true });
    const last = await im(`/api/im/conversations?account_id=${account}&count=2&cursor=4`);
    expect(last.json.data.conversations.map((c: any) => c.conversation_id)).toEqual(["cv0"]);
    expect(last.json.data).toMatchObject({ cursor: 5, has_more: false });
  });

  it("refuses a request without account_id, naming it", async () => {
    expectImError(await im("/api/im/conversations"), "account_id");
  });
});

describe("GET /api/im/messages", () => {
  it("lists one conversation's messages in the Douyin shape, newest first, times in seconds", async () => {
    const account = uid("acc");
    await push(account, {
      conversations: [conversation("cv1"), conversation("cv2")],
      messages: [
        dm("m1", "cv1", { content: "hello", create_time: 1_731_000_100 }),
        dm("m2", "cv1", { content: "anyone there?", create_time: 1_731_000_200_999 }),
        dm("m3", "cv2", { content: "other thread", create_time: 1_731_000_300 }),
      ],
    });
    const res = await im(`/api/im/messages?account_id=${account}&conversation_id=cv1`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        messages: [
          {
            msg_id: "m2",
            conversation_id: "cv1",
            sender: { uid: "p-cv1", nickname: "Buyer cv1" },
            content: "anyone there?",
            msg_type: "text",
            create_time: 1_731_000_200,
          },
          {
            msg_id: "m1",
            conversation_id: "cv1",
            sender: { uid: "p-cv1", nickname: "Buyer cv1" },
            content: "hello",
            msg_type: "text",
            create_time: 1_731_000_100,
          },
        ],
        cursor: 2,
        has_more: false,
      },
      status_code: 0,
    });
  });

  it("includes the account's own outbound messages", async () => {
    const account = uid("acc");
    await push(account, {
      conversations: [conversation("cv1")],
      messages: [
        dm("m1", "cv1", { create_time: 1_731_000_100 }),
        dm("m2", "cv1", {
          create_time: 1_731_000_200,
          direction: "out",
          sender: { user_id: "brand", user_name: "Brand A" },
        }),
      ],
    });
    const res = await im(`/api/im/messages?account_id=${account}&conversation_id=cv1`);
    expect(res.json.data.messages.map((m: any) => [m.msg_id, m.sender.nickname])).toEqual([
      ["m2", "Brand A"],
      ["m1", "Buyer cv1"],
    ]);
  });

  it("pages with count and cursor, has_more false once the last message is given", async () => {
    const account = uid("acc");
    const messages = Array.from({ length: 4 }, (_, i) => dm(`m${i}`, "cv1", { create_time: 1_731_000_000 + i }));
    await push(account, { conversations: [conversation("cv1")], messages });
    const first = await im(`/api/im/messages?account_id=${account}&conversation_id=cv1&count=3`);
    expect(first.json.data.messages.map((m: any) => m.msg_id)).toEqual(["m3", "m2", "m1"]);
    expect(first.json.data).toMatchObject({ cursor: 3, has_more: true });
    const second = await im(`/api/im/messages?account_id=${account}&conversation_id=cv1&count=3&cursor=3`);
    expect(second.json.data.messages.map((m: any) => m.msg_id)).toEqual(["m0"]);
    expect(second.json.data).toMatchObject({ cursor: 4, has_more: false });
  });

  it("refuses a request without conversation_id, naming it", async () => {
    const account = uid("acc");
    await push(account, { conversations: [conversation("cv1")] });
    expectImError(await im(`/api/im/messages?account_id=${account}`), "conversation_id");
  });

  it("refuses a request without account_id, naming it", async () => {
    expectImError(await im("/api/im/messages?conversation_id=cv1"), "account_id");
  });
});

describe("GET /api/im/discussions", () => {
  it("lists comments in the Douyin shape, newest first, times in seconds", async () => {
    const account = uid("acc");
    await push(account, {
      contents: [work("w1"), work("w2")],
      comments: [
        comment("c1", "w1", { content: "first!", create_time: 1_731_000_100 }),
        comment("c2", "w2", { content: "how much?", create_time: 1_731_000_200_500 }),
      ],
      conversations: [conversation("cv1")],
      messages: [dm("m1", "cv1", { create_time: 1_731_000_300 })],
    });
    const res = await im(`/api/im/discussions?account_id=${account}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        discussions: [
          {
            cid: "c2",
            text: "how much?",
            user: { uid: "u-c2", nickname: "Fan c2" },
            aweme_id: "w2",
            create_time: 1_731_000_200,
          },
          {
            cid: "c1",
            text: "first!",
            user: { uid: "u-c1", nickname: "Fan c1" },
            aweme_id: "w1",
            create_time: 1_731_000_100,
          },
        ],
        cursor: 2,
        has_more: false,
      },
      status_code: 0,
    });
  });

  it("orders by the comment's time, not by the order it was pushed in", async () => {
    const account = uid("acc");
    await push(account, { comments: [comment("c-mid", "w1", { create_time: 1_731_000_500 })] });
    await push(account, {
      comments: [
        comment("c-old", "w1", { create_time: 1_731_000_000_000 }),
        comment("c-new", "w1", { create_time: 1_731_000_900 }),
      ],
    });
    const res = await im(`/api/im/discussions?account_id=${account}`);
    expect(res.json.data.discussions.map((d: any) => d.cid)).toEqual(["c-new", "c-mid", "c-old"]);
  });

  it("gives 10 comments by default, with has_more and the next cursor", async () => {
    const account = uid("acc");
    const newestFirst = await pushComments(account, 12);
    const first = await im(`/api/im/discussions?account_id=${account}`);
    expect(first.json.data.discussions.map((d: any) => d.cid)).toEqual(newestFirst.slice(0, 10));
    expect(first.json.data).toMatchObject({ cursor: 10, has_more: true });
    const second = await im(`/api/im/discussions?account_id=${account}&cursor=${first.json.data.cursor}`);
    expect(second.json.data.discussions.map((d: any) => d.cid)).toEqual(newestFirst.slice(10));
    expect(second.json.data).toMatchObject({ cursor: 12, has_more: false });
  });

  it("walking the cursor visits every comment once, in order", async () => {
    const account = uid("acc");
    const newestFirst = await pushComments(account, 7);
    const seen: string[] = [];
    let cursor = 0;
    for (let page = 0; page < 10; page++) {
      const res = await im(`/api/im/discussions?account_id=${account}&count=3&cursor=${cursor}`);
      expect(res.json.status_code).toBe(0);
      seen.push(...res.json.data.discussions.map((d: any) => d.cid));
      cursor = res.json.data.cursor;
      if (!res.json.data.has_more) break;
    }
    expect(seen).toEqual(newestFirst);
  });

  it("has has_more false when the page ends exactly at the last comment", async () => {
    const account = uid("acc");
    await pushComments(account, 10);
    const res = await im(`/api/im/discussions?account_id=${account}&count=10`);
    expect(res.json.data.discussions).toHaveLength(10);
    expect(res.json.data.has_more).toBe(false);
  });

  it("gives an empty page past the end", async () => {
    const account = uid("acc");
    await pushComments(account, 3);
    const res = await im(`/api/im/discussions?account_id=${account}&cursor=50`);
    expect(res.status).toBe(200);
    expect(res.json.data.discussions).toEqual([]);
    expect(res.json.data.has_more).toBe(false);
  });

  it("accepts count 1 and count 100", async () => {
    const account = uid("acc");
    await pushComments(account, 3);
    const one = await im(`/api/im/discussions?account_id=${account}&count=1`);
    expect(one.json.data.discussions).toHaveLength(1);
    expect(one.json.data).toMatchObject({ cursor: 1, has_more: true });
    const hundred = await im(`/api/im/discussions?account_id=${account}&count=100`);
    expect(hundred.json.data.discussions).toHaveLength(3);
  });

  it.each([
    ["count=0", "count"],
    ["count=101", "count"],
    ["count=abc", "count"],
    ["count=2.5", "count"],
    ["count=-1", "count"],
    ["cursor=-1", "cursor"],
    ["cursor=abc", "cursor"],
    ["cursor=1.5", "cursor"],
  ])("refuses %s with a 4xx naming %s", async (query, parameter) => {
    const account = uid("acc");
    await pushComments(account, 1);
    expectImError(await im(`/api/im/discussions?account_id=${account}&${query}`), parameter);
  });

  it("refuses a request without account_id, naming it", async () => {
    expectImError(await im("/api/im/discussions"), "account_id");
  });

  it("refuses an account_id that is not a valid account id, naming it", async () => {
    expectImError(await im("/api/im/discussions?account_id=has%20spaces%2Fand%2Fslashes"), "account_id");
  });
});

describe("GET /api/im/contents", () => {
  it("lists works in the Douyin shape, newest first, publish time in seconds", async () => {
    const account = uid("acc");
    await push(account, {
      contents: [
        work("w-old", { title: "Old video", publish_time: 1_730_000_000, stats: { comment_count: 3, like_count: 10 } }),
        work("w-new", {
          title: "New video",
          publish_time: 1_730_500_000_250,
          stats: { comment_count: 0, like_count: 2 },
        }),
      ],
    });
    const res = await im(`/api/im/contents?account_id=${account}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        contents: [
          {
            aweme_id: "w-new",
            desc: "New video",
            statistics: { comment_count: 0, digg_count: 2 },
            create_time: 1_730_500_000,
          },
          {
            aweme_id: "w-old",
            desc: "Old video",
            statistics: { comment_count: 3, digg_count: 10 },
            create_time: 1_730_000_000,
          },
        ],
        cursor: 2,
        has_more: false,
      },
      status_code: 0,
    });
  });

  it("lists only works, never conversations", async () => {
    const account = uid("acc");
    await push(account, { contents: [work("w1")], conversations: [conversation("cv1")] });
    const res = await im(`/api/im/contents?account_id=${account}`);
    expect(res.json.data.contents.map((c: any) => c.aweme_id)).toEqual(["w1"]);
  });

  it("pages with count and cursor", async () => {
    const account = uid("acc");
    const contents = Array.from({ length: 3 }, (_, i) => work(`w${i}`, { publish_time: 1_730_000_000 + i }));
    await push(account, { contents });
    const first = await im(`/api/im/contents?account_id=${account}&count=2`);
    expect(first.json.data.contents.map((c: any) => c.aweme_id)).toEqual(["w2", "w1"]);
    expect(first.json.data).toMatchObject({ cursor: 2, has_more: true });
    const second = await im(`/api/im/contents?account_id=${account}&count=2&cursor=2`);
    expect(second.json.data.contents.map((c: any) => c.aweme_id)).toEqual(["w0"]);
    expect(second.json.data).toMatchObject({ cursor: 3, has_more: false });
  });

  it("refuses a count over 100, naming it", async () => {
    const account = uid("acc");
    await push(account, { contents: [work("w1")] });
    expectImError(await im(`/api/im/contents?account_id=${account}&count=500`), "count");
  });
});

describe("GET /api/im/unified-messages", () => {
  async function mixed() {
    const account = uid("acc");
    await push(account, {
      contents: [work("w1")],
      comments: [
        comment("c1", "w1", { content: "comment one", create_time: 1_731_000_100 }),
        comment("c2", "w1", { content: "comment two", create_time: 1_731_000_300_000 }),
      ],
      conversations: [conversation("cv1")],
      messages: [
        dm("m1", "cv1", { content: "dm one", create_time: 1_731_000_200 }),
        dm("m2", "cv1", { content: "dm two", create_time: 1_731_000_400_999 }),
      ],
    });
    return account;
  }

  it("lists comments and DMs together in the Douyin shape, newest first, times in seconds", async () => {
    const account = await mixed();
    const res = await im(`/api/im/unified-messages?account_id=${account}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        messages: [
          {
            id: "m2",
            type: "message",
            data: {
              msg_id: "m2",
              conversation_id: "cv1",
              sender: { uid: "p-cv1", nickname: "Buyer cv1" },
              content: "dm two",
              msg_type: "text",
              create_time: 1_731_000_400,
            },
            create_time: 1_731_000_400,
          },
          {
            id: "c2",
            type: "comment",
            data: {
              cid: "c2",
              text: "comment two",
              user: { uid: "u-c2", nickname: "Fan c2" },
              aweme_id: "w1",
              create_time: 1_731_000_300,
            },
            create_time: 1_731_000_300,
          },
          expect.objectContaining({ id: "m1", type: "message", create_time: 1_731_000_200 }),
          expect.objectContaining({ id: "c1", type: "comment", create_time: 1_731_000_100 }),
        ],
        cursor: 4,
        has_more: false,
      },
      status_code: 0,
    });
  });

  it("types=comment,message gives both kinds", async () => {
    const account = await mixed();
    const res = await im(`/api/im/unified-messages?account_id=${account}&types=comment,message`);
    expect(res.json.data.messages.map((m: any) => m.id)).toEqual(["m2", "c2", "m1", "c1"]);
  });

  it("types=comment gives only comments", async () => {
    const account = await mixed();
    const res = await im(`/api/im/unified-messages?account_id=${account}&types=comment`);
    expect(res.json.data.messages.map((m: any) => [m.id, m.type])).toEqual([
      ["c2", "comment"],
      ["c1", "comment"],
    ]);
  });

  it("types=message gives only direct messages", async () => {
    const account = await mixed();
    const res = await im(`/api/im/unified-messages?account_id=${account}&types=message`);
    expect(res.json.data.messages.map((m: any) => [m.id, m.type])).toEqual([
      ["m2", "message"],
      ["m1", "message"],
    ]);
  });

  it("pages across both kinds with count and cursor", async () => {
    const account = await mixed();
    const first = await im(`/api/im/unified-messages?account_id=${account}&count=3`);
    expect(first.json.data.messages.map((m: any) => m.id)).toEqual(["m2", "c2", "m1"]);
    expect(first.json.data).toMatchObject({ cursor: 3, has_more: true });
    const second = await im(`/api/im/unified-messages?account_id=${account}&count=3&cursor=3`);
    expect(second.json.data.messages.map((m: any) => m.id)).toEqual(["c1"]);
    expect(second.json.data).toMatchObject({ cursor: 4, has_more: false });
  });

  it("refuses an unknown type, naming types", async () => {
    const account = await mixed();
    expectImError(await im(`/api/im/unified-messages?account_id=${account}&types=likes`), "types");
  });

  it("refuses an invalid cursor, naming it", async () => {
    const account = await mixed();
    expectImError(await im(`/api/im/unified-messages?account_id=${account}&cursor=-3`), "cursor");
  });
});
