/** Socket.IO 4 clients of bench/socketio-server.ts, as the seed's agents connected. */
import { io } from "socket.io-client";
import type { Socket } from "socket.io-client";
import { inPool } from "./clients";
import type { Receiver } from "./clients";

export type SocketIoSet = { clients: Receiver[]; unexpected: string[]; close(): Promise<void> };

/**
 * Opens `count` clients in `room`, at most `concurrency` at a time. WebSocket transport from
 * the start (a browser would first poll, then upgrade: the same socket once the push comes);
 * the client's default `perMessageDeflate` offer is kept. Each `channel:message` reaches
 * `onText` as the text `{"type":"channel:message","payload":…}`, so the bench reads it as it
 * reads the edge's frames.
 */
export async function openSocketIoClients(
  url: string,
  room: string,
  count: number,
  concurrency = 50,
): Promise<SocketIoSet> {
  const sockets: Socket[] = [];
  const clients: Receiver[] = [];
  const unexpected: string[] = [];
  let closing = false;
  await inPool(count, concurrency, async (index) => {
    const socket = io(url, { query: { room }, transports: ["websocket"], forceNew: true, reconnection: false });
    const client: Receiver = { onText: null };
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (error) => reject(new Error(`socket.io client ${index}: ${error.message}`)));
    });
    socket.on("channel:message", (payload: unknown) =>
      client.onText?.(JSON.stringify({ type: "channel:message", payload }), performance.now()),
    );
    socket.on("disconnect", (reason) => {
      if (!closing) unexpected.push(`socket.io client ${index} disconnected: ${reason}`);
    });
    sockets[index] = socket;
    clients[index] = client;
  });
  return {
    clients,
    unexpected,
    async close() {
      closing = true;
      for (const socket of sockets) socket.disconnect();
    },
  };
}
