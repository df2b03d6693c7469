/**
 * When the client's sockets try again (docs/CLIENT.md, "Reconnects"): a herd dropped at one
 * instant comes back spread out, and a server's refusal (429 `Retry-After`, close 1013) is
 * waited out. Against a plain `ws` server that records when each upgrade arrives.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { Backoff, retryAfterMs } from "../../client/backoff";
import { FrameSocket } from "../../client/socket";
import type { SocketHandlers } from "../../client/socket";
import { waitFor } from "./network";

type Upgrade = { at: number; socket?: WebSocket };

type Server = {
  url: string;
  upgrades: Upgrade[];
  /** What to do with the next upgrade: accept it, or answer with a status and headers. */
  decide: (index: number) => "accept" | { status: number; headers: Record<string, string> };
  stop(): Promise<void>;
};

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

async function server(): Promise<Server> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const result: Server = {
    url: "",
    upgrades: [],
    decide: () => "accept",
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  http.on("upgrade", (request, socket, head) => {
    const upgrade: Upgrade = { at: performance.now() };
    const decision = result.decide(result.upgrades.length);
    result.upgrades.push(upgrade);
    if (decision !== "accept") {
      const headers = Object.entries(decision.headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.end(`HTTP/1.1 ${decision.status} Refused\r\nContent-Length: 0\r\n${headers.join("")}\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => (upgrade.socket = ws));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  result.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  stops.push(() => result.stop());
  return result;
}

function open(url: string, reconnect: { minDelay: number; maxDelay: number }, failures: string[] = []): FrameSocket {
  const handlers: SocketHandlers = {
    open: () => {},
    frame: () => {},
    state: () => {},
    failure: (error) => failures.push(error.message),
    tokenExpired: () => {},
  };
  const socket = new FrameSocket(
    { url: async () => url, WebSocket, reconnect: { ...reconnect, minUptime: 60_000 } },
    handlers,
  );
  stops.push(() => socket.close());
  return socket;
}

describe("Backoff", () => {
  it("waits a random part of a cap that doubles from minDelay up to maxDelay, and starts over after a reset", () => {
    const backoff = new Backoff({ minDelay: 1000, maxDelay: 5000 }, () => 1);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
    const low = new Backoff({ minDelay: 1000, maxDelay: 5000 }, () => 0.25);
    expect(low.next()).toBe(250);
  });

  it("after a refusal, waits what the server asked plus up to as long again", () => {
    const backoff = new Backoff({ minDelay: 1000, maxDelay: 5000 }, () => 0.5);
    backoff.refused(3000);
    expect(backoff.next()).toBe(4500);
    expect(backoff.next()).toBe(1000);
  });

  it("reads Retry-After seconds, an HTTP date, and the 1013 close reason", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs("retry after 2 s")).toBe(2000);
    expect(retryAfterMs("retry after 1.5 s")).toBe(1500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs("soon")).toBeNull();
    expect(retryAfterMs(undefined)).toBeNull();
  });
});

describe("a herd of sockets", () => {
  it("dropped at one instant does not come back at one instant, the first retry included", async () => {
    const srv = await server();
    const herd = 40;
    for (let i = 0; i < herd; i++) open(srv.url, { minDelay: 1500, maxDelay: 1500 });
    await waitFor(() => srv.upgrades.filter((u) => u.socket).length === herd, "the herd to connect");
    const dropped = srv.upgrades.length;
    for (const upgrade of srv.upgrades) upgrade.socket?.terminate();
    await waitFor(() => srv.upgrades.length === dropped + herd, "the herd to reconnect", 20_000);
    const returns = srv.upgrades.slice(dropped).map((u) => u.at);
    // Spread evenly over 1.5 s, about 3 of 40 land in any 100 ms and they span most of it; in
    // lockstep all 40 would land in one. The bounds leave room for a busy machine, whose event
    // loop bunches arrivals a little.
    const busiest = Math.max(...returns.map((t) => returns.filter((u) => u >= t && u < t + 100).length));
    expect(busiest).toBeLessThanOrEqual(herd / 2);
    expect(Math.max(...returns) - Math.min(...returns)).toBeGreaterThanOrEqual(750);
  }, 30_000);
});

describe("a refusal", () => {
  it("429 with Retry-After: the next attempt waits at least as long as the server asked", async () => {
    const srv = await server();
    srv.decide = (index) => (index === 0 ? { status: 429, headers: { "Retry-After": "2" } } : "accept");
    const failures: string[] = [];
    open(srv.url, { minDelay: 20, maxDelay: 20 }, failures);
    await waitFor(() => srv.upgrades.length === 2, "the second attempt", 20_000);
    expect(srv.upgrades[1]!.at - srv.upgrades[0]!.at).toBeGreaterThanOrEqual(2000);
    expect(failures[0]).toContain("refused with 429 (retry after 2 s)");
  }, 30_000);

  it("close 1013 right after the upgrade: the next attempt waits at least the seconds its reason names", async () => {
    const srv = await server();
    const closeAt: number[] = [];
    open(srv.url, { minDelay: 20, maxDelay: 20 });
    await waitFor(() => srv.upgrades[0]?.socket !== undefined, "the first socket");
    closeAt.push(performance.now());
    srv.upgrades[0]!.socket!.close(1013, "retry after 2 s");
    await waitFor(() => srv.upgrades.length === 2, "the second attempt", 20_000);
    expect(srv.upgrades[1]!.at - closeAt[0]!).toBeGreaterThanOrEqual(2000);
  }, 30_000);
});
