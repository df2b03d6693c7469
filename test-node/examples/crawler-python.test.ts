/**
 * The Python reference crawler (examples/crawler-python) against the real backend, as its
 * README runs it: it pushes its account, an agent replies, and its next round carries the reply
 * out and reports it, so the agent's message turns "sent" and no copy of it appears.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBackend } from "../backend";
import type { Backend } from "../backend";

const CRAWLER = fileURLToPath(new URL("../../examples/crawler-python/crawler.py", import.meta.url));
const ACCOUNT = "py-1001";

let backend: Backend;

beforeAll(async () => {
  backend = await startBackend({ tenant: "python" });
});

afterAll(async () => {
  await backend?.stop();
});

function crawl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", [CRAWLER, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function get<T>(path: string): Promise<T> {
  const response = await backend.api(path, "agent");
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

type Message = { id: string; content: string; status?: string; direction: string };

describe("the Python reference crawler", () => {
  it("pushes its account, then carries out an agent's reply and reports it sent", async () => {
    const token = await backend.token("crawler");
    const first = await crawl([ACCOUNT, "--url", backend.url, "--token", token, "--once"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^${ACCOUNT}: seq \\d+, new \\{'contents': 1, 'comments': 2`, "m"));

    const { topics } = await get<{ topics: { id: string; kind: string }[] }>(`/api/v1/accounts/${ACCOUNT}/topics`);
    expect(topics.map((t) => t.kind).sort()).toEqual(["conversation", "work"]);
    const work = topics.find((t) => t.kind === "work")!;

    const reply = await backend.api(`/api/v1/accounts/${ACCOUNT}/topics/${work.id}/replies`, "agent", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "口红是 129 元 💄", clientMsgId: "py-reply-1" }),
    });
    expect(reply.status).toBe(201);
    const sent = ((await reply.json()) as { message: Message }).message;
    expect(sent.status).toBe("pending");

    // Two rounds: the first carries the reply out, the second pushes the posted reply with the rest.
    const second = await crawl([ACCOUNT, "--url", backend.url, "--token", token, "--rounds", "2", "--interval", "1"]);
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`${ACCOUNT}: reply `);
    expect(second.stdout).toContain(" sent");

    const { messages } = await get<{ messages: Message[] }>(`/api/v1/accounts/${ACCOUNT}/topics/${work.id}/messages`);
    const copies = messages.filter((m) => m.content === "口红是 129 元 💄");
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ id: sent.id, status: "sent", direction: "out" });
  });

  it("stops with the backend's refusal when its token is not accepted", async () => {
    const result = await crawl([ACCOUNT, "--url", backend.url, "--token", "not-a-token", "--once"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("HTTP 401 unauthorized");
  });
});
