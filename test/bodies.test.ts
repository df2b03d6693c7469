/**
 * Every route that reads a body reads a bounded one: one byte over its limit is a 413 that
 * names the limit, with or without a Content-Length, and nothing is stored.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Role } from "../src/auth";
import { BODY_LIMITS } from "../src/http/body-limit";
import { api, push, token, uid, work } from "./helpers";

type Route = { method: string; path: (account: string) => string; role: Role; limit: number; limitText: string };

const ROUTES: Route[] = [
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/health`,
    role: "crawler",
    limit: BODY_LIMITS.health,
    limitText: "16 KiB",
  },
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/topics/w1/replies`,
    role: "agent",
    limit: BODY_LIMITS.reply,
    limitText: "16 KiB",
  },
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/commands/c1/result`,
    role: "crawler",
    limit: BODY_LIMITS.commandResult,
    limitText: "16 KiB",
  },
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/qrcode`,
    role: "crawler",
    limit: BODY_LIMITS.qrcode,
    limitText: "520 KiB",
  },
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/login/status`,
    role: "crawler",
    limit: BODY_LIMITS.loginStatus,
    limitText: "16 KiB",
  },
  {
    method: "PATCH",
    path: (a) => `/api/v1/accounts/${a}`,
    role: "admin",
    limit: BODY_LIMITS.channelPatch,
    limitText: "16 KiB",
  },
  {
    method: "POST",
    path: (a) => `/api/v1/accounts/${a}/sync`,
    role: "crawler",
    limit: 4 * 1024 * 1024,
    limitText: "4 MiB",
  },
];

/** A JSON object of exactly `bytes` bytes: valid apart from its size. */
function jsonOf(bytes: number): string {
  const shell = '{"pad":""}';
  return `{"pad":"${"x".repeat(bytes - shell.length)}"}`;
}

/** What an agent and an admin can read of the account: its channel and its topic's messages. */
async function stored(account: string) {
  const admin = await token("admin");
  const channels = await api("/api/v1/accounts", { token: admin });
  const messages = await api(`/api/v1/accounts/${account}/topics/w1/messages`, { token: admin });
  expect(messages.status).toBe(200);
  return {
    channel: channels.json.channels.find((c: { id: string }) => c.id === account),
    messages: messages.json.messages,
  };
}

async function send(route: Route, account: string, body: BodyInit) {
  const response = await exports.default.fetch(`http://edge.test${route.path(account)}`, {
    method: route.method,
    headers: { authorization: `Bearer ${await token(route.role)}`, "content-type": "application/json" },
    body,
  });
  return { status: response.status, json: (await response.json()) as any };
}

describe("body limits", () => {
  for (const route of ROUTES) {
    const name = `${route.method} ${route.path(":accountId")}`;
    it(`${name}: a byte over ${route.limitText} is a 413 naming the limit, and nothing changes`, async () => {
      const account = uid("bodies");
      await push(account, { contents: [work("w1")] });
      const before = await stored(account);
      expect(before.channel).toBeDefined();
      const over = await send(route, account, jsonOf(route.limit + 1));
      expect(over.status).toBe(413);
      expect(over.json.error).toMatchObject({ code: "payload_too_large" });
      expect(over.json.error.message).toContain(`larger than ${route.limitText}`);
      // A body of exactly the limit is read (and then judged on its content, not its size).
      const at = await send(route, account, jsonOf(route.limit));
      expect(at.status).not.toBe(413);
      const after = await stored(account);
      expect(after).toEqual(before);
    });
  }

  it("counts a body sent without a Content-Length as it arrives", async () => {
    const account = uid("bodies");
    const chunk = new TextEncoder().encode("x".repeat(8 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 20 MB on offer; the route stops reading past its 16 KiB.
        if (sent++ >= 2_560) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const res = await send(ROUTES[0]!, account, stream);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(100);
  });
});
