/**
 * A `WebSocket` (from `ws`) the tests can hurt: drop its connections at any moment, take the
 * network away (connections refused) or mute it (frames sent vanish), and see what it sent.
 */
import WebSocket from "ws";

export type Network = {
  /** Pass as the adapter's `WebSocket` option. */
  WebSocket: unknown;
  /** Every frame the client sent, in order. */
  sent: string[];
  /** Sockets opened so far. */
  opened(): number;
  /** Kills every open socket whose URL contains `match`, as a network failure would (no close frame). */
  drop(match?: string): number;
  setOffline(offline: boolean): void;
  setMuted(muted: boolean): void;
};

/** Nothing listens there: a connection attempt is refused at once. */
const UNREACHABLE = "ws://127.0.0.1:9/";

/**
 * @example
 * const net = network();
 * await client.connect(backend.url, { token, WebSocket: net.WebSocket });
 * net.drop("/accounts/");
 */
export function network(): Network {
  const sockets: WebSocket[] = [];
  const sent: string[] = [];
  let offline = false;
  let muted = false;
  let opened = 0;

  class TestSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(offline ? UNREACHABLE : url, protocols);
      sockets.push(this);
      this.addEventListener("open", () => void opened++);
    }

    override send(data: unknown, ...rest: unknown[]): void {
      if (typeof data === "string") sent.push(data);
      if (muted) return;
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }

  return {
    WebSocket: TestSocket,
    sent,
    opened: () => opened,
    drop(match = "") {
      let dropped = 0;
      for (const socket of sockets) {
        if (socket.readyState === WebSocket.OPEN && socket.url.includes(match)) {
          socket.terminate();
          dropped++;
        }
      }
      return dropped;
    },
    setOffline(value) {
      offline = value;
    },
    setMuted(value) {
      muted = value;
    },
  };
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
/** Polls `check` until it holds; `what` names it in the timeout's error (a function: read at the timeout). */
export async function waitFor(check: () => boolean, what: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
