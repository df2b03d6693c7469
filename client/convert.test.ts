import { describe, expect, it } from "vitest";
import {
  convertCrmToMaster,
  convertMasterToCrm,
  generateClientId,
  isCrmMessage,
  isMasterMessage,
  toConversation,
  toCrmMessage,
  toCrmType,
  toMessageContext,
  toMillis,
} from "./convert";
import type { Message as WireMessage, Topic } from "../src/contract/schemas";
import type { Message } from "./types";

const master = {
  id: "m-1",
  account_id: "douyin-1001",
  sender_id: "u-9",
  sender_name: "Lin",
  type: "TEXT",
  content: "when does it ship?",
  created_at: 1_730_000_000,
  is_new: 1,
  is_sent: 0,
};

function wire(overrides: Partial<WireMessage> = {}): WireMessage {
  return {
    id: "c1",
    channelId: "douyin-1001",
    topicId: "w1",
    seq: 7,
    kind: "comment",
    fromId: "u9",
    fromName: "Lin",
    content: "nice video",
    type: "text",
    timestamp: 1_730_000_000_000,
    direction: "in",
    ...overrides,
  };
}

describe("convertMasterToCrm", () => {
  it("maps the basic fields", () => {
    expect(convertMasterToCrm(master)).toEqual({
      id: "m-1",
      fromId: "u-9",
      fromName: "Lin",
      toId: "",
      topic: "douyin-1001",
      content: "when does it ship?",
      type: "TEXT",
      timestamp: 1_730_000_000_000,
    });
  });

  it("turns seconds into milliseconds and keeps milliseconds as they are", () => {
    expect(convertMasterToCrm({ ...master, created_at: 1_730_000_000 }).timestamp).toBe(1_730_000_000_000);
    expect(convertMasterToCrm({ ...master, created_at: 1_730_000_000_123 }).timestamp).toBe(1_730_000_000_123);
  });

  it("falls back to `timestamp` when `created_at` is missing", () => {
    const { created_at: _unused, ...rest } = master;
    expect(convertMasterToCrm({ ...rest, timestamp: 1_700_000_000 }).timestamp).toBe(1_700_000_000_000);
  });

  it("unwraps a message nested in `payload`", () => {
    const crm = convertMasterToCrm({ type: "MASTER_NOTIFICATION_PUSH", payload: master });
    expect(crm).toEqual(convertMasterToCrm(master));
  });

  it("reads the alternative field names (from_id, from_name, topic, fileUrl)", () => {
    const crm = convertMasterToCrm({
      from_id: "u1",
      from_name: "Ann",
      topic: "t-1",
      fileUrl: "https://f/x.pdf",
      fileName: "x.pdf",
    });
    expect(crm).toMatchObject({
      fromId: "u1",
      fromName: "Ann",
      topic: "t-1",
      fileUrl: "https://f/x.pdf",
      fileName: "x.pdf",
    });
  });

  it("fills every missing field with a default", () => {
    const before = Date.now();
    const crm = convertMasterToCrm({});
    expect(crm).toMatchObject({
      fromId: "unknown",
      fromName: "Unknown User",
      toId: "",
      topic: "default",
      content: "",
      type: "TEXT",
    });
    expect(crm.id).toMatch(/^master_\d+_[a-z0-9]{9}$/);
    expect(crm.timestamp).toBeGreaterThanOrEqual(before);
    expect(crm).not.toHaveProperty("fileUrl");
    expect(crm).not.toHaveProperty("fileName");
  });

  it("treats a zero, negative or non-numeric time as now", () => {
    const before = Date.now();
    for (const created_at of [0, -5, Number.NaN]) {
      expect(convertMasterToCrm({ ...master, created_at }).timestamp).toBeGreaterThanOrEqual(before);
    }
  });

  it("maps message types: TEXT, SYSTEM and NOTIFICATION are text, IMAGE an image, FILE and VIDEO files", () => {
    const typeOf = (type: string) => convertMasterToCrm({ ...master, type }).type;
    expect(typeOf("TEXT")).toBe("TEXT");
    expect(typeOf("SYSTEM")).toBe("TEXT");
    expect(typeOf("NOTIFICATION")).toBe("TEXT");
    expect(typeOf("IMAGE")).toBe("IMAGE");
    expect(typeOf("FILE")).toBe("FILE");
    expect(typeOf("video")).toBe("FILE");
  });

  it("maps an unknown or missing type to TEXT", () => {
    expect(convertMasterToCrm({ ...master, type: "STICKER" }).type).toBe("TEXT");
    const { type: _unused, ...untyped } = master;
    expect(convertMasterToCrm(untyped).type).toBe("TEXT");
  });
});

describe("convertCrmToMaster", () => {
  const crm: Message = {
    id: "local-1",
    fromId: "agent-1",
    fromName: "Agent",
    toId: "u9",
    topic: "douyin-1001",
    content: "on Monday",
    type: "TEXT",
    timestamp: 1_730_000_000_999,
  };

  it("maps the basic fields into a MASTER_NOTIFICATION_PUSH payload", () => {
    expect(convertCrmToMaster(crm)).toEqual({
      type: "MASTER_NOTIFICATION_PUSH",
      payload: {
        id: "local-1",
        account_id: "douyin-1001",
        type: "TEXT",
        content: "on Monday",
        sender_id: "agent-1",
        sender_name: "Agent",
        created_at: 1_730_000_000,
        is_new: 1,
        is_sent: 0,
      },
    });
  });

  it("turns milliseconds into whole seconds", () => {
    expect(convertCrmToMaster({ ...crm, timestamp: 1_000_999 }).payload?.created_at).toBe(1000);
  });

  it("keeps FILE and IMAGE, and maps an unknown type to TEXT", () => {
    expect(convertCrmToMaster({ ...crm, type: "FILE" }).payload?.type).toBe("FILE");
    expect(convertCrmToMaster({ ...crm, type: "IMAGE" }).payload?.type).toBe("IMAGE");
    expect(convertCrmToMaster({ ...crm, type: "file" as Message["type"] }).payload?.type).toBe("FILE");
    expect(convertCrmToMaster({ ...crm, type: "STICKER" as Message["type"] }).payload?.type).toBe("TEXT");
  });

  it("carries file fields only when the message has them", () => {
    expect(convertCrmToMaster(crm).payload).not.toHaveProperty("file_url");
    const withFile = convertCrmToMaster({ ...crm, type: "FILE", fileUrl: "https://f/a.pdf", fileName: "a.pdf" });
    expect(withFile.payload).toMatchObject({ file_url: "https://f/a.pdf", file_name: "a.pdf" });
  });

  it("keeps empty content as empty content", () => {
    expect(convertCrmToMaster({ ...crm, content: "" }).payload?.content).toBe("");
  });
});

describe("round trips", () => {
  it("Master → crm → Master keeps every field the crm Message has", () => {
    const original = { ...master, type: "IMAGE", file_url: "https://f/p.png", file_name: "p.png" };
    const back = convertCrmToMaster(convertMasterToCrm(original));
    expect(back.payload).toEqual({
      id: original.id,
      account_id: original.account_id,
      type: "IMAGE",
      content: original.content,
      sender_id: original.sender_id,
      sender_name: original.sender_name,
      created_at: original.created_at,
      is_new: 1,
      is_sent: 0,
      file_url: "https://f/p.png",
      file_name: "p.png",
    });
  });

  it("crm → Master → crm is the identity for whole-second timestamps", () => {
    const crm: Message = {
      id: "x",
      fromId: "a",
      fromName: "A",
      toId: "",
      topic: "t",
      content: "c",
      type: "FILE",
      timestamp: 1_730_000_000_000,
      fileUrl: "u",
      fileName: "n",
    };
    expect(convertMasterToCrm(convertCrmToMaster(crm))).toEqual(crm);
  });
});

describe("toCrmMessage (PROTOCOL §9)", () => {
  it("maps a backend Message, topic = topicId", () => {
    expect(toCrmMessage(wire({ toId: "acct" }))).toEqual({
      id: "c1",
      fromId: "u9",
      fromName: "Lin",
      toId: "acct",
      topic: "w1",
      content: "nice video",
      type: "TEXT",
      timestamp: 1_730_000_000_000,
    });
  });

  it("maps image → IMAGE, file and video → FILE, text and system → TEXT", () => {
    expect(toCrmMessage(wire({ type: "image" })).type).toBe("IMAGE");
    expect(toCrmMessage(wire({ type: "file" })).type).toBe("FILE");
    expect(toCrmMessage(wire({ type: "video" })).type).toBe("FILE");
    expect(toCrmMessage(wire({ type: "text" })).type).toBe("TEXT");
    expect(toCrmMessage(wire({ type: "system" })).type).toBe("TEXT");
  });

  it("leaves toId empty when the message has none, and keeps file fields", () => {
    const crm = toCrmMessage(wire({ type: "file", fileUrl: "https://f/a.zip", fileName: "a.zip" }));
    expect(crm.toId).toBe("");
    expect(crm).toMatchObject({ fileUrl: "https://f/a.zip", fileName: "a.zip" });
    expect(toCrmMessage(wire())).not.toHaveProperty("fileUrl");
  });

  it("keeps channel, seqs, kind and status beside the crm message", () => {
    const reply = wire({ kind: "reply", direction: "out", status: "pending", replyToId: "c0", fromAvatar: "a.png" });
    expect(toMessageContext(reply, 12)).toEqual({
      channelId: "douyin-1001",
      topicId: "w1",
      seq: 12,
      messageSeq: 7,
      kind: "reply",
      direction: "out",
      status: "pending",
      replyToId: "c0",
      fromAvatar: "a.png",
      raw: reply,
    });
    expect(toMessageContext(wire()).seq).toBe(0);
  });
});

describe("toConversation", () => {
  const topic: Topic = {
    id: "cv1",
    channelId: "douyin-1001",
    kind: "conversation",
    title: "Lin",
    avatar: "https://a/lin.png",
    lastMessage: "hello?",
    lastMessageTime: 1_730_000_000_000,
    messageCount: 3,
    unreadCount: 2,
  };

  it("shows a topic as a conversation that flashes while it has unread messages", () => {
    expect(toConversation(topic)).toEqual({
      friendId: "cv1",
      friendName: "Lin",
      friendAvatar: "https://a/lin.png",
      topic: "cv1",
      lastMessage: "hello?",
      unreadCount: 2,
      isFlashing: true,
    });
  });

  it("stops flashing when read, and has an empty avatar when the topic has none", () => {
    const { avatar: _unused, ...noAvatar } = topic;
    expect(toConversation({ ...noAvatar, unreadCount: 0 })).toMatchObject({ friendAvatar: "", isFlashing: false });
  });
});

describe("isMasterMessage / isCrmMessage", () => {
  it("recognises Master messages flat or wrapped", () => {
    expect(isMasterMessage({ account_id: "a" })).toBe(true);
    expect(isMasterMessage({ sender_id: "u" })).toBe(true);
    expect(isMasterMessage({ type: "MASTER_NOTIFICATION_PUSH", payload: { account_id: "a" } })).toBe(true);
  });

  it("rejects what is not a Master message", () => {
    expect(isMasterMessage(null)).toBe(false);
    expect(isMasterMessage("account_id")).toBe(false);
    expect(isMasterMessage({ fromId: "u", topic: "t" })).toBe(false);
  });

  it("recognises crm messages and rejects the rest", () => {
    expect(isCrmMessage(convertMasterToCrm(master))).toBe(true);
    expect(isCrmMessage(master)).toBe(false);
    expect(isCrmMessage({ fromId: "u" })).toBe(false);
    expect(isCrmMessage(undefined)).toBe(false);
  });
});

describe("helpers", () => {
  it("generateClientId has the crm-pc-im format and differs each time", () => {
    const ids = new Set(Array.from({ length: 50 }, generateClientId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^crm-pc-im_\d{13}_[a-z0-9]{9}$/);
  });

  it("toMillis reads numeric strings and uses the clock for garbage", () => {
    expect(toMillis("1730000000")).toBe(1_730_000_000_000);
    expect(toMillis("soon", () => 5)).toBe(5);
    expect(toMillis(undefined, () => 6)).toBe(6);
  });

  it("toCrmType ignores case and non-strings", () => {
    expect(toCrmType("Image")).toBe("IMAGE");
    expect(toCrmType(42)).toBe("TEXT");
  });
});
