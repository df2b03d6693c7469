/**
 * The web console in real Chromium against the real backend (`wrangler dev`, fresh state):
 * what an agent sees — live messages, replies that reach the crawler and come back "sent", a
 * backend killed and restarted under an open page, a reload, bad tokens, hostile content, who
 * else is watching.
 */
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient } from "../../client/adapter";
import type { WebSocketService } from "../../client/adapter";
import type { Role } from "../../src/auth";
import { startDev } from "../../scripts/backend";
import type { Wrangler } from "../../scripts/backend";
import { crawler, launchChromium, openPage, token as signedToken } from "./browser";

/** Where the screenshot goes (gitignored): look at it after a run. */
const ARTIFACTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const SLOW = 180_000;
const UI_TIMEOUT = 30_000;

let dir: string;
let dev: Wrangler;
let browser: Browser;
/**
 * Each test has a tenant of its own: every open console watches every account of its tenant,
 * so a page another test left open could otherwise show up in this test's presence list.
 */
let tenant = "";
let tests = 0;
const backend = crawler(
  () => dev.url,
  () => tenant,
);
/** What a test opened; closed after it, whether it passed or not. */
const contexts: BrowserContext[] = [];
const clients: WebSocketService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "console-"));
  [dev, browser] = await Promise.all([startDev({ dir, readyTimeoutMs: 150_000 }), launchChromium()]);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await dev?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

beforeEach(() => {
  tenant = `console-${++tests}`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

function token(role: Role, options: { sub?: string; ttl?: number } = {}): Promise<string> {
  return signedToken(role, { tenant, ...options });
}

/** A fresh page (see `openPage`), closed after the test. */
async function newPage() {
  const opened = await openPage(browser);
  contexts.push(opened.context);
  return opened;
}

let accounts = 0;
/** A fresh account with one work, so no test sees another's messages. */
async function newAccount(title: string): Promise<string> {
  const accountId = `douyin-console-${++accounts}`;
  await backend.push(accountId, {
    contents: [{ work_id: "w1", title, publish_time: 1_730_000_000 }],
  });
  return accountId;
}

function comment(id: string, content: string, extra: object = {}) {
  return {
    comment_id: id,
    work_id: "w1",
    content,
    author_id: `u-${id}`,
    author_name: "林小姐",
    create_time: 1_730_000_000 + Number(id.replace(/\D/g, "") || 0),
    ...extra,
  };
}

async function signIn(page: Page, role: "agent" | "admin" = "agent", sub?: string): Promise<void> {
  await page.goto(`${dev.url}/#token=${await token(role, sub ? { sub } : {})}`);
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: UI_TIMEOUT });
}

async function openTopic(page: Page, accountId: string, title: string): Promise<void> {
  await page.getByRole("button", { name: accountId, exact: true }).click({ timeout: UI_TIMEOUT });
  await page.getByRole("button", { name: title, exact: true }).click({ timeout: UI_TIMEOUT });
}

/** The texts of the messages shown in the open topic, top to bottom. */
function shown(page: Page): Promise<string[]> {
  return page.locator(".message-list .message .text").allTextContents();
}

type Frame = { type: string; id?: string; payload?: any };

/** Every JSON frame the page's sockets send and receive, from now on. */
function socketFrames(page: Page): { sent: Frame[]; received: Frame[] } {
  const frames = { sent: [] as Frame[], received: [] as Frame[] };
  const parse = (payload: string | Buffer, into: Frame[]) => {
    try {
      into.push(JSON.parse(String(payload)) as Frame);
    } catch {
      // Not JSON: not a frame of the protocol.
    }
  };
  page.on("websocket", (socket) => {
    socket.on("framesent", ({ payload }) => parse(payload, frames.sent));
    socket.on("framereceived", ({ payload }) => parse(payload, frames.received));
  });
  return frames;
}

async function until(page: Page, check: (texts: string[]) => boolean, what: string): Promise<string[]> {
  const deadline = Date.now() + UI_TIMEOUT * 2;
  let texts: string[] = [];
  while (Date.now() < deadline) {
    texts = await shown(page);
    if (check(texts)) return texts;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: the page shows ${JSON.stringify(texts)}`);
}

describe("the console", () => {
  it("is served at / with a Content-Security-Policy that allows only its own scripts", async () => {
    const response = await fetch(`${dev.url}/`);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    // Images over https or inline only: an http one could be read or replaced on the way.
    expect(csp).toMatch(/img-src 'self' https: data:;/);
    expect(await response.text()).toContain('<div id="app">');
    // The API still answers as the API.
    expect((await fetch(`${dev.url}/api/v1/nothing`)).status).toBe(404);
  });

  it(
    "says what is wrong with a malformed, an expired or a crawler's token, and keeps it out of the address bar",
    async () => {
      const { page, dialogs } = await newPage();
      await page.goto(`${dev.url}/#token=not-a-token`);
      await expect.poll(() => page.getByRole("alert").textContent(), { timeout: UI_TIMEOUT }).toMatch(/malformed/);
      expect(page.url()).not.toContain("token");
      await expect(page.getByLabel("Token")).toBeDefined();

      await page.getByLabel("Token").fill(await token("agent", { ttl: -60 }));
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByRole("alert").textContent(), { timeout: UI_TIMEOUT }).toMatch(/Token expired/);

      await page.getByLabel("Token").fill(await token("crawler"));
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect
        .poll(() => page.getByRole("alert").textContent(), { timeout: UI_TIMEOUT })
        .toMatch(/cannot read the console: role crawler/);
      expect(await page.evaluate(() => localStorage.getItem("hiscrm-console:token"))).toBeNull();
      expect(dialogs).toEqual([]);
    },
    SLOW,
  );

  it(
    "shows pushed comments live, sends a reply that the crawler reports sent, and shows 'sent'",
    async () => {
      const accountId = await newAccount("新品发布 🎉 Launch video");
      const long = `长评论 ${"这是一段很长的评论，用来检查换行。".repeat(30)}`;
      await backend.push(accountId, {
        comments: [comment("c1", "什么时候发货？🚚"), comment("c2", long)],
        // Before the console opens: listed from history, not counted as new.
        notifications: [
          {
            notification_id: "n0",
            type: "follow",
            title: "新粉丝",
            content: "阿杰关注了你",
            create_time: 1_730_000_100,
          },
        ],
      });
      const { page, dialogs, errors } = await newPage();
      await signIn(page);
      const channel = page.getByRole("button", { name: accountId, exact: true });
      await expect.poll(() => channel.getAttribute("aria-describedby"), { timeout: UI_TIMEOUT }).toBeTruthy();
      await openTopic(page, accountId, "新品发布 🎉 Launch video");
      await until(page, (t) => t.length === 2, "the first two comments");
      expect(await shown(page)).toEqual(["什么时候发货？🚚", long]);

      // Live, without a reload.
      await backend.push(accountId, { comments: [comment("c3", "还有红色的吗？")] });
      await until(page, (t) => t.at(-1) === "还有红色的吗？", "the pushed comment");

      const reply = page.getByRole("textbox", { name: "Reply" });
      await reply.fill("有的，明天发货 👍");
      await reply.press("Enter");
      const bubble = page.locator(".message.out").filter({ hasText: "有的，明天发货 👍" });
      await expect
        .poll(() => bubble.locator(".status").textContent(), { timeout: UI_TIMEOUT })
        .toMatch(/pending|sending/);

      let commands: any[] = [];
      await expect
        .poll(async () => (commands = await backend.pendingCommands(accountId)).length, { timeout: UI_TIMEOUT })
        .toBe(1);
      expect(commands[0]).toMatchObject({ type: "reply", topicId: "w1", content: "有的，明天发货 👍" });
      await backend.report(accountId, commands[0].id, { status: "sent", platformMessageId: "p-1" });
      await expect.poll(() => bubble.locator(".status").textContent(), { timeout: UI_TIMEOUT }).toBe("sent");

      // The topic was read while it was open: no unread badge on it.
      await expect
        .poll(() => page.getByRole("button", { name: "新品发布 🎉 Launch video" }).locator(".badge").count(), {
          timeout: UI_TIMEOUT,
        })
        .toBe(0);

      // A notification arrives live and is listed.
      await backend.push(accountId, {
        notifications: [
          {
            notification_id: "n1",
            type: "like",
            title: "新的点赞",
            content: "小红赞了你的作品",
            create_time: 1_730_000_900,
          },
        ],
      });
      const bell = page.getByRole("button", { name: /^Notifications/ });
      await expect.poll(() => bell.textContent(), { timeout: UI_TIMEOUT }).toBe("Notifications1");
      await bell.click();
      const pane = page.getByRole("region", { name: "Notifications" });
      await pane.getByText("小红赞了你的作品").waitFor({ timeout: UI_TIMEOUT });
      await pane.getByText("阿杰关注了你").waitFor({ timeout: UI_TIMEOUT });
      // Newest first, each once: the live one above the stored one.
      expect(await pane.locator("li .text").allTextContents()).toEqual(["小红赞了你的作品", "阿杰关注了你"]);
      await page.getByRole("button", { name: "Close" }).click();

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "console-main.png") });
      expect(dialogs).toEqual([]);
      expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    },
    SLOW,
  );

  it(
    "keeps hostile content inert: markup shows as text, a javascript: avatar is never used",
    async () => {
      const accountId = await newAccount("Hostile");
      await backend.push(accountId, {
        comments: [
          comment("c1", "<img src=x onerror=alert(1)>", { author_avatar: "javascript:alert(2)" }),
          comment("c2", "<script>alert(3)</script>", { author_avatar: "https://example.invalid/a.png" }),
        ],
        messages: [
          {
            msg_id: "m1",
            conversation_id: "cv1",
            content: "javascript:alert(4)",
            msg_type: "file",
            file_url: "javascript:alert(4)",
            file_name: "invoice.pdf",
            sender: { user_id: "u1", user_name: "<b>Mallory</b>", avatar: "javascript:alert(5)" },
            direction: "in",
            create_time: 1_730_000_500,
          },
        ],
      });
      const { page, dialogs, errors } = await newPage();
      await signIn(page);
      await openTopic(page, accountId, "Hostile");
      await until(page, (t) => t.length === 2, "both comments");
      expect(await shown(page)).toEqual(["<img src=x onerror=alert(1)>", "<script>alert(3)</script>"]);
      await page.getByRole("button", { name: "<b>Mallory</b>", exact: true }).click();
      await page.getByText("invoice.pdf").waitFor({ timeout: UI_TIMEOUT });
      await page.waitForTimeout(500);

      expect(dialogs).toEqual([]);
      expect(await page.locator('img[src="x"]').count()).toBe(0);
      expect(await page.locator("script:not([src])").count()).toBe(0);
      expect(await page.locator('[href^="javascript:" i], [src^="javascript:" i]').count()).toBe(0);
      expect(await page.locator("b").count()).toBe(0);
      expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    },
    SLOW,
  );

  it(
    "shows a time no date can hold as '—' and keeps every channel and message listed",
    async () => {
      const accountId = await newAccount("Bad time work");
      const other = await newAccount("Other work");
      await backend.push(accountId, { comments: [comment("c1", "before"), comment("c2", "bad time")] });
      const { page, errors } = await newPage();
      // Times stored before the backend checked them, or sent by an older one: 9e15 ms is past
      // what a Date holds (8.64e15), so formatting it throws unless the console guards it.
      const BAD = 9e15;
      await page.routeWebSocket(/\/api\/v1\//, (socket) => {
        const server = socket.connectToServer();
        socket.onMessage((message) => server.send(message));
        server.onMessage((message) => {
          if (typeof message !== "string") return socket.send(message);
          socket.send(
            message
              .replace(/("content":"bad time"[^{}]*"timestamp":)\d+/g, `$1${BAD}`)
              .replace(new RegExp(`("id":"${accountId}"[^{}]*"lastMessageTime":)\\d+`, "g"), `$1${BAD}`),
          );
        });
      });
      await signIn(page);
      await page.getByRole("button", { name: other, exact: true }).waitFor({ timeout: UI_TIMEOUT });
      await openTopic(page, accountId, "Bad time work");
      await until(page, (t) => t.length === 2, "both comments");
      const times = page.locator(".message-list .message time");
      await expect.poll(() => times.allTextContents(), { timeout: UI_TIMEOUT }).toContain("—");
      expect(await page.getByRole("button", { name: accountId, exact: true }).textContent()).toContain("—");
      expect(errors).toEqual([]);
    },
    SLOW,
  );

  it(
    "lets an admin rename and pin a channel and run a QR login, the QR image and status arriving live",
    async () => {
      const accountId = await newAccount("Admin work");
      const { page } = await newPage();
      await signIn(page, "admin");
      await page.getByRole("button", { name: accountId, exact: true }).click({ timeout: UI_TIMEOUT });
      await page.getByText("Channel settings and QR login").click();
      await page.getByLabel("Channel name").fill("品牌号 A");
      await page.getByRole("button", { name: "Rename" }).click();
      await page.getByRole("button", { name: "品牌号 A", exact: true }).waitFor({ timeout: UI_TIMEOUT });
      await page.getByLabel("Pinned").check();
      await expect
        .poll(() => page.locator("nav .list li").first().getByRole("button").getAttribute("aria-current"), {
          timeout: UI_TIMEOUT,
        })
        .toBe("true");

      await page.getByRole("button", { name: "Start QR login" }).click();
      await page.getByText("Waiting for the crawler").waitFor({ timeout: UI_TIMEOUT });
      const image =
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
      await backend.post(`/api/v1/accounts/${accountId}/qrcode`, { image, expiresAt: Date.now() + 120_000 });
      const qr = page.getByRole("img", { name: "QR code to log in 品牌号 A" });
      await qr.waitFor({ timeout: UI_TIMEOUT });
      expect(await qr.getAttribute("src")).toBe(image);
      await backend.post(`/api/v1/accounts/${accountId}/login/status`, { status: "success" });
      await page.getByText("Logged in.").waitFor({ timeout: UI_TIMEOUT });
    },
    SLOW,
  );

  it(
    "pages a long topic 50 messages at a time as the reader scrolls up, never loading all of it",
    async () => {
      const accountId = await newAccount("Long work");
      const comments = Array.from({ length: 230 }, (_, i) => comment(`c${i + 1}`, `comment ${i + 1}`));
      await backend.push(accountId, { comments });
      const { page } = await newPage();
      const frames = socketFrames(page);
      await signIn(page);
      await openTopic(page, accountId, "Long work");
      const first = await until(page, (t) => t.length === 50, "the newest page");
      expect(first[0]).toBe("comment 181");
      expect(first.at(-1)).toBe("comment 230");

      const asked = () => frames.sent.filter((f) => f.type === "monitor:request_messages" && f.payload?.before);
      expect(asked()).toEqual([]);
      await page.locator(".messages").evaluate((el) => el.scrollTo({ top: 0 }));
      await expect.poll(() => asked().length, { timeout: UI_TIMEOUT }).toBe(1);
      const request = asked()[0]!;
      await expect
        .poll(() => frames.received.some((f) => f.type === "monitor:messages" && f.id === request.id), {
          timeout: UI_TIMEOUT,
        })
        .toBe(true);
      const second = await until(page, (t) => t.length === 100, "the page before it");
      expect(second.slice(0, 2)).toEqual(["comment 131", "comment 132"]);
      expect(second.at(-1)).toBe("comment 230");
      // Reading stays where it was: the newly loaded page is above, not on screen, so no
      // third page is asked for until the reader scrolls up again.
      expect(await page.locator(".messages").evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
      expect(asked()).toHaveLength(1);
      expect((await shown(page)).length).toBe(100);
    },
    SLOW,
  );

  it(
    "shows who else is watching the channel, as they come and go",
    async () => {
      const accountId = await newAccount("Presence work");
      const { page } = await newPage();
      await signIn(page, "agent", "ann");
      await page.getByRole("button", { name: accountId, exact: true }).click({ timeout: UI_TIMEOUT });
      const online = page.getByLabel("Online now");
      await expect.poll(() => online.textContent(), { timeout: UI_TIMEOUT }).toBe("Online now: ann");

      const colleague = createClient();
      clients.push(colleague);
      await colleague.connect(dev.url, { token: await token("agent", { sub: "bob" }), accounts: [accountId] });
      await expect.poll(() => online.textContent(), { timeout: UI_TIMEOUT }).toBe("Online now: ann, bob");
      colleague.disconnect();
      await expect.poll(() => online.textContent(), { timeout: UI_TIMEOUT }).toBe("Online now: ann");
    },
    SLOW,
  );

  it(
    "resumes after a reload from localStorage, showing each message once",
    async () => {
      const accountId = await newAccount("Reload work");
      await backend.push(accountId, { comments: [comment("c1", "first"), comment("c2", "second")] });
      const { page } = await newPage();
      await signIn(page);
      await openTopic(page, accountId, "Reload work");
      await until(page, (t) => t.length === 2, "two comments");
      await backend.push(accountId, { comments: [comment("c3", "third")] });
      await until(page, (t) => t.length === 3, "the live one");

      await page.reload();
      // Signed in from localStorage, back in the same topic.
      await until(page, (t) => t.length === 3, "the topic after the reload");
      await backend.push(accountId, { comments: [comment("c4", "fourth")] });
      await until(page, (t) => t.length === 4, "a comment after the reload");
      await page.waitForTimeout(1000);
      expect(await shown(page)).toEqual(["first", "second", "third", "fourth"]);
    },
    SLOW,
  );

  it(
    "marks a channel whose crawler stopped as late, then offline, and one whose login expired, without a reload",
    async () => {
      const accountId = `douyin-console-health-${++accounts}`;
      // A health report creates the account; its crawler then goes quiet.
      await backend.post(`/api/v1/accounts/${accountId}/health`, { intervalMs: 1_000, login: "expired" });
      const { page } = await newPage();
      await signIn(page);
      const channel = page.getByRole("button", { name: accountId, exact: true });
      const tags = () => channel.locator(".tag").allTextContents();
      await expect.poll(tags, { timeout: UI_TIMEOUT }).toContain("Login expired");
      await expect.poll(tags, { timeout: UI_TIMEOUT }).toContain("Crawler late");
      await expect.poll(tags, { timeout: UI_TIMEOUT }).toEqual(["Crawler offline", "Login expired"]);
      // A sign of life clears what no longer holds.
      await backend.post(`/api/v1/accounts/${accountId}/health`, { intervalMs: 60_000, login: "logged_in" });
      await expect.poll(tags, { timeout: UI_TIMEOUT }).toEqual([]);
    },
    SLOW,
  );

  it(
    "survives the backend killed (SIGKILL) and restarted under the open page: each new comment once, in order",
    async () => {
      const accountId = await newAccount("Crash work");
      await backend.push(accountId, { comments: [comment("c1", "before 1"), comment("c2", "before 2")] });
      const { page } = await newPage();
      await signIn(page);
      await openTopic(page, accountId, "Crash work");
      await until(page, (t) => t.length === 2, "the comments before the crash");

      const port = Number(new URL(dev.url).port);
      await dev.kill();
      await page
        .getByText(/Reconnecting/)
        .first()
        .waitFor({ timeout: UI_TIMEOUT });
      dev = await startDev({ dir, port, readyTimeoutMs: 150_000 });
      for (const n of [3, 4, 5]) await backend.push(accountId, { comments: [comment(`c${n}`, `after ${n}`)] });

      await until(page, (t) => t.length >= 5, "the comments after the restart");
      await page.waitForTimeout(1500);
      expect(await shown(page)).toEqual(["before 1", "before 2", "after 3", "after 4", "after 5"]);
    },
    SLOW * 2,
  );
  it(
    "returns to the token form saying 'token expired' when the backend closes the expired socket with 4001",
    async () => {
      const accountId = await newAccount("Expiry work");
      const { page } = await newPage();
      // Long enough to sign in on a busy machine; the wait for it is the test's only idle time.
      const expiresIn = 10;
      const expiresAt = (Math.floor(Date.now() / 1000) + expiresIn) * 1000;
      await page.goto(`${dev.url}/#token=${await token("agent", { sub: "agent-expiring", ttl: expiresIn })}`);
      await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: UI_TIMEOUT });
      await page.waitForTimeout(Math.max(0, expiresAt + 1000 - Date.now()));
      // The backend sends an expired socket nothing: the next fan-out (this push's channel
      // update), if no alarm came first, closes it with 4001 instead.
      await backend.push(accountId, { comments: [comment("c-late", "after the expiry")] });
      await expect
        .poll(() => page.getByRole("alert").textContent(), { timeout: UI_TIMEOUT })
        .toMatch(/Token expired: the backend closed the connection/);
      await page.getByLabel("Token").waitFor();
      expect(await page.evaluate(() => localStorage.getItem("hiscrm-console:token"))).toBeNull();
    },
    SLOW,
  );

  it(
    "says 'history reset' and reloads the account when the backend lost its storage",
    async () => {
      const accountId = await newAccount("Reset work");
      await backend.push(accountId, { comments: [comment("c1", "old 1"), comment("c2", "old 2")] });
      const { page } = await newPage();
      await signIn(page);
      await openTopic(page, accountId, "Reset work");
      await until(page, (t) => t.length === 2, "the comments before the loss");

      const port = Number(new URL(dev.url).port);
      await dev.kill();
      await rm(join(dir, "state"), { recursive: true, force: true });
      dev = await startDev({ dir, port, readyTimeoutMs: 150_000 });
      await backend.push(accountId, {
        contents: [{ work_id: "w1", title: "Reset work" }],
        comments: [comment("c7", "new 7")],
      });

      await page.getByText(`History reset for ${accountId}`).waitFor({ timeout: UI_TIMEOUT * 2 });
      await until(page, (t) => t.length === 1, "the topic as the backend has it now");
      expect(await shown(page)).toEqual(["new 7"]);
    },
    SLOW * 2,
  );
});
