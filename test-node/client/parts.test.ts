import { afterEach, describe, expect, it, vi } from "vitest";
import { Listeners } from "../../client/listeners";
import { toQueuedReply } from "../../client/replies";
import { AdapterError, PendingRequests, RequestTimeoutError } from "../../client/requests";
import { AccountStore, memoryStorage } from "../../client/storage";
import { accountUrl, directoryUrl, readTokenClaims, toSocketBase } from "../../client/urls";
import { mintToken } from "../../scripts/backend";

afterEach(() => void vi.useRealTimers());

describe("PendingRequests", () => {
  it("settles a request with the answer carrying its id", async () => {
    const requests = new PendingRequests("q");
    const { id, text, answer } = requests.create(
      "monitor:request_topics",
      {},
      { answers: ["monitor:topics"], timeoutMs: 1000 },
    );
    expect(JSON.parse(text)).toEqual({ type: "monitor:request_topics", id, payload: {} });
    expect(requests.settle({ type: "monitor:topics", id: "other" })).toBe(false);
    expect(requests.settle({ type: "monitor:topics", id, payload: { topics: [] } })).toBe(true);
    await expect(answer).resolves.toMatchObject({ payload: { topics: [] } });
    expect(requests.texts()).toEqual([]);
  });

  it("rejects on an error frame with its id, keeping code and issues", async () => {
    const requests = new PendingRequests("q");
    const { id, answer } = requests.create(
      "monitor:request_messages",
      {},
      { answers: ["monitor:messages"], timeoutMs: 1000 },
    );
    requests.settle({
      type: "error",
      id,
      payload: {
        code: "invalid_frame",
        message: "payload.topicId: Required",
        issues: [{ path: "payload.topicId", message: "Required" }],
      },
    });
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      code: "invalid_frame",
      message: "payload.topicId: Required",
      requestType: "monitor:request_messages",
    });
    expect((error as AdapterError).issues).toHaveLength(1);
  });

  it("rejects with a clear timeout error when no answer comes", async () => {
    vi.useFakeTimers();
    const requests = new PendingRequests("q");
    const { answer } = requests.create("monitor:request_topics", {}, { answers: ["monitor:topics"], timeoutMs: 500 });
    const settled = answer.catch((e: unknown) => e);
    vi.advanceTimersByTime(501);
    const error = await settled;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toMatch(/monitor:request_topics \(request q1\) got no answer within 500 ms/);
  });

  it("lets a broadcast settle a request only when allowed", async () => {
    const requests = new PendingRequests("d");
    const strict = requests.create("monitor:request_topics", {}, { answers: ["monitor:topics"], timeoutMs: 1000 });
    const loose = requests.create(
      "client:register",
      {},
      { answers: ["client:register:success"], timeoutMs: 1000, acceptBroadcast: true },
    );
    expect(requests.settle({ type: "monitor:topics" })).toBe(false);
    expect(requests.settle({ type: "client:register:success" })).toBe(true);
    await expect(loose.answer).resolves.toMatchObject({ type: "client:register:success" });
    requests.rejectAll(new AdapterError("disconnected", "bye"));
    await expect(strict.answer).rejects.toMatchObject({ code: "disconnected" });
  });

  it("keeps the frames of unanswered requests to send again", () => {
    const requests = new PendingRequests("q");
    requests.create("monitor:reply", { clientMsgId: "k" }, { answers: ["monitor:reply:accepted"], timeoutMs: null });
    expect(requests.texts()).toHaveLength(1);
  });
});

describe("AccountStore", () => {
  it("remembers position and outbox per key and survives garbage", () => {
    const storage = memoryStorage();
    const store = new AccountStore(storage, "p:t:a");
    expect(store.loadPosition()).toEqual({ seq: null, epoch: null });
    store.savePosition({ seq: 42, epoch: "e" });
    expect(new AccountStore(storage, "p:t:a").loadPosition()).toEqual({ seq: 42, epoch: "e" });
    expect(new AccountStore(storage, "p:t:b").loadPosition()).toEqual({ seq: null, epoch: null });
    storage.setItem("p:t:a:position", "{not json");
    expect(store.loadPosition()).toEqual({ seq: null, epoch: null });
    store.saveOutbox([{ topicId: "w1", content: "hi", clientMsgId: "k1" }]);
    expect(store.loadOutbox()).toEqual([{ topicId: "w1", content: "hi", clientMsgId: "k1" }]);
    store.saveOutbox([]);
    expect(storage.getItem("p:t:a:outbox")).toBeNull();
  });

  it("keeps delivering when the storage throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
      removeItem: () => undefined,
    };
    const store = new AccountStore(broken, "k");
    expect(() => store.savePosition({ seq: 1, epoch: "e" })).not.toThrow();
    expect(store.loadPosition()).toEqual({ seq: null, epoch: null });
  });
});

describe("Listeners", () => {
  it("calls every listener, survives a throwing one, and unsubscribes", () => {
    const listeners = new Listeners<[number]>("test");
    const got: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const offA = listeners.add((n) => got.push(`a${n}`));
    listeners.add(() => {
      throw new Error("app bug");
    });
    listeners.add((n) => got.push(`c${n}`));
    listeners.emit(1);
    offA();
    listeners.emit(2);
    expect(got).toEqual(["a1", "c1", "c2"]);
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });
});

describe("toQueuedReply", () => {
  it("uses a crm Message's id as the idempotency key", () => {
    const reply = toQueuedReply(
      {
        id: "local-7",
        fromId: "me",
        fromName: "Me",
        toId: "",
        topic: "w1",
        content: "thanks",
        type: "TEXT",
        timestamp: 1,
      },
      { replyToId: "c1" },
    );
    expect(reply).toEqual({ topicId: "w1", content: "thanks", clientMsgId: "local-7", replyToId: "c1" });
  });

  it("generates a key when none is given, and refuses an empty reply", () => {
    expect(toQueuedReply({ topicId: "w1", content: "ok" }, {}).clientMsgId).toMatch(/.{8,}/);
    expect(() => toQueuedReply({ topicId: "w1", content: "  " }, {})).toThrow(/content must not be empty/);
    expect(() => toQueuedReply({ topicId: "", content: "x" }, {})).toThrow(/topicId is required/);
  });

  it("refuses what the room would refuse, naming the field as the app wrote it", () => {
    const crm = {
      id: "local-1",
      fromId: "me",
      fromName: "Me",
      toId: "",
      topic: "w1",
      type: "TEXT" as const,
      timestamp: 1,
    };
    const issues = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return (error as AdapterError).issues;
      }
      return undefined;
    };
    expect(issues(() => toQueuedReply({ ...crm, content: "x".repeat(2_001) }, {}))).toEqual([
      { path: "content", message: "must be at most 2000 characters" },
    ]);
    expect(issues(() => toQueuedReply({ ...crm, topic: "", content: "x" }, {}))).toEqual([
      { path: "topic", message: "is required" },
    ]);
    expect(issues(() => toQueuedReply({ ...crm, id: "k".repeat(129), content: "x" }, {}))).toEqual([
      { path: "id", message: "must be at most 128 characters" },
    ]);
    expect(issues(() => toQueuedReply({ topicId: "t".repeat(257), content: "x" }, {}))).toEqual([
      { path: "topicId", message: "must be at most 256 characters" },
    ]);
    expect(toQueuedReply({ ...crm, content: "x".repeat(2_000) }, {}).content).toHaveLength(2_000);
  });
});

describe("urls", () => {
  it("turns any base address into a socket base", () => {
    expect(toSocketBase("http://127.0.0.1:8787/")).toBe("ws://127.0.0.1:8787");
    expect(toSocketBase("https://im.example.com")).toBe("wss://im.example.com");
    expect(toSocketBase("wss://im.example.com/edge")).toBe("wss://im.example.com/edge");
    expect(() => toSocketBase("im.example.com")).toThrow(/not an http/);
  });

  it("builds the two socket addresses", () => {
    expect(directoryUrl("ws://h", { token: "t" })).toBe("ws://h/api/v1/ws?token=t");
    expect(accountUrl("ws://h", "douyin:1", { token: "t", clientId: "c", since: 4, epoch: "e" })).toBe(
      "ws://h/api/v1/accounts/douyin%3A1/ws?token=t&clientId=c&since=4&epoch=e",
    );
  });

  it("reads tenant and accounts from a token, and nothing from garbage", async () => {
    const token = await mintToken("agent", { tenant: "acme", accounts: ["x", "y"] });
    expect(readTokenClaims(token)).toEqual({ tid: "acme", accounts: ["x", "y"] });
    expect(readTokenClaims("nope")).toEqual({});
    expect(readTokenClaims("a.!!!.c")).toEqual({});
  });
});
