/**
 * Many WebSocket clients in this process (the `ws` package), opened with bounded concurrency.
 * They offer permessage-deflate unless told not to, as every real client of the backend does
 * (browsers, Electron, partysocket on `ws`), so the server's compression is in what is measured.
 */
import type { Socket } from "node:net";
import WebSocket from "ws";

/** What the bench reads of a server frame. */
export type Frame = {
  type: string;
  id?: string;
  payload?: { seq?: unknown; message?: { id?: unknown }; frames?: Frame[] };
};

/** Anything that hands the bench the texts it receives (a `ws` socket, a Socket.IO client). */
export type Receiver = {
  /** Called with every text frame and the time it arrived (`performance.now()`). */
  onText: ((text: string, at: number) => void) | null;
};

export type Client = Receiver & {
  ws: WebSocket;
  index: number;
};

export type ClientSet = {
  clients: Client[];
  /** Sockets that closed or failed while not being closed by `close()`. */
  unexpected: string[];
  /** How many of the sockets negotiated permessage-deflate with the server. */
  deflated: number;
  /** Bytes read from the TCP connections so far, all sockets together: what crossed the wire. */
  bytesRead(): number;
  close(): Promise<void>;
};

export type ClientOptions = {
  /** Offer permessage-deflate in the upgrade, as browsers do (default true). */
  deflate?: boolean;
  concurrency?: number;
};

/** Runs `task(0)` … `task(count - 1)`, at most `concurrency` at a time; rejects with the first failure. */
export async function inPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) await task(next++);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Opens `count` sockets to `urlOf(i)`, at most `concurrency` handshakes at a time; rejects if
 * any handshake fails (its HTTP status in the message).
 */
export async function openClients(
  count: number,
  urlOf: (i: number) => Promise<string>,
  { deflate = true, concurrency = 50 }: ClientOptions = {},
): Promise<ClientSet> {
  const clients: Client[] = new Array(count);
  const unexpected: string[] = [];
  let closing = false;
  await inPool(count, concurrency, async (index) => {
    const url = await urlOf(index);
    // `true` is ws's default offer: permessage-deflate with client_max_window_bits, as Chromium sends it.
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    const client: Client = { ws, index, onText: null };
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`socket ${index}: upgrade answered ${res.statusCode}`)),
      );
      ws.once("error", reject);
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) client.onText?.(data.toString(), performance.now());
    });
    ws.on("close", (code) => {
      if (!closing) unexpected.push(`socket ${index} closed with ${code}`);
    });
    ws.on("error", (error) => {
      if (!closing) unexpected.push(`socket ${index}: ${error.message}`);
    });
    clients[index] = client;
  });
  return {
    clients,
    unexpected,
    deflated: clients.filter((c) => c.ws.extensions.includes("permessage-deflate")).length,
    bytesRead: () => clients.reduce((sum, c) => sum + (tcpOf(c.ws)?.bytesRead ?? 0), 0),
    async close() {
      closing = true;
      await Promise.all(
        clients.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === WebSocket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                c.ws.terminate();
                resolve();
              }, 3_000);
              c.ws.once("close", () => {
                clearTimeout(timer);
                resolve();
              });
              c.ws.close(1000);
            }),
        ),
      );
    },
  };
}

/** The TCP connection under a `ws` socket (not in its public API; null once it is gone). */
function tcpOf(ws: WebSocket): Socket | null {
  return (ws as unknown as { _socket: Socket | null })._socket;
}

/** The frames in one text: a `batch` frame's frames in order, or the frame itself. */
export function framesOf(text: string): Frame[] {
  const frame = JSON.parse(text) as Frame;
  if (frame.type === "batch") return frame.payload?.frames ?? [];
  return [frame];
}

/**
 * Resolves once every client has seen a text containing `marker` and `accept(text)` holds;
 * each client's arrival time is recorded. Rejects after `timeoutMs`.
 */
export function awaitAll(
  clients: Receiver[],
  marker: string,
  timeoutMs: number,
  accept: (text: string) => boolean = () => true,
): { done: Promise<number[]>; cancel(): void } {
  const arrivals: number[] = new Array(clients.length).fill(NaN);
  let remaining = clients.length;
  let timer: NodeJS.Timeout | undefined;
  const cleanup = () => {
    clearTimeout(timer);
    for (const c of clients) c.onText = null;
  };
  const done = new Promise<number[]>((resolve, reject) => {
    timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${remaining} of ${clients.length} clients did not get ${marker} within ${timeoutMs} ms`));
    }, timeoutMs);
    for (const [i, c] of clients.entries()) {
      c.onText = (text, at) => {
        if (!Number.isNaN(arrivals[i]!) || !text.includes(marker) || !accept(text)) return;
        arrivals[i] = at;
        if (--remaining === 0) {
          cleanup();
          resolve(arrivals);
        }
      };
    }
  });
  return { done, cancel: cleanup };
}
