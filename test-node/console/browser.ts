/**
 * Real Chromium for the console tests (Debian's `/usr/bin/chromium`, driven by
 * playwright-core; `.ci/run` installs it when missing), and the crawler side of the
 * backend those tests play: tokens, pushes, commands.
 */
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Role } from "../../src/auth";
import { mintToken } from "../../scripts/backend";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** A page in a fresh profile that records every dialog (none may open) and every console error (CSP reports land there). */
export async function openPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; dialogs: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { context, page, dialogs, errors };
}

export type TokenOptions = { tenant: string; sub?: string; ttl?: number };

export function token(role: Role, options: TokenOptions): Promise<string> {
  return mintToken(role, { ...options, sub: options.sub ?? `${role}-console` });
}

/** A crawler of the tenant `tenant()` names, over HTTP as a real one would be. */
export function crawler(url: () => string, tenant: () => string) {
  async function call(path: string, init: RequestInit = {}): Promise<any> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await token("crawler", { tenant: tenant() })}`);
    if (init.body) headers.set("content-type", "application/json");
    const response = await fetch(`${url()}${path}`, { ...init, headers });
    const body = await response.json();
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  }
  return {
    push(accountId: string, snapshot: object): Promise<any> {
      return call(`/api/v1/accounts/${accountId}/sync`, {
        method: "POST",
        body: JSON.stringify({ accountId, platform: "douyin", timestamp: Date.now(), snapshot }),
      });
    },
    async pendingCommands(accountId: string): Promise<any[]> {
      return (await call(`/api/v1/accounts/${accountId}/commands?status=pending`)).commands;
    },
    report(accountId: string, commandId: string, result: object): Promise<any> {
      return call(`/api/v1/accounts/${accountId}/commands/${commandId}/result`, {
        method: "POST",
        body: JSON.stringify(result),
      });
    },
    post(path: string, body: object): Promise<any> {
      return call(path, { method: "POST", body: JSON.stringify(body) });
    },
  };
}
