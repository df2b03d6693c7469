/**
 * The bench's door: a TCP forwarder between the bench's clients and a backend, which counts the
 * upgrades it hands on and can answer the clients' deflate offers as the deployed Worker does.
 */
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";

/**
 * A fixed address in front of a backend whose port may change (bench/restart.ts points it at
 * each new start of the Worker's own workerd: wrangler's proxy on `--port` would keep the
 * address, but it is a second runtime that production does not have, and a herd reconnecting
 * through it while it starts ran it out of file descriptors). While there is no backend, a
 * connection is dropped at once, as a refused one would be.
 *
 * It also stands where the deployed Worker decides compression. Every adapter offers
 * permessage-deflate, as browsers and `ws` do; the deployed Worker declines every offer
 * (`no_web_socket_compression`, docs/DESIGN.md), but `wrangler dev` cannot: Miniflare's own entry
 * Worker, with its own compatibility date, answers the upgrade and takes the offer up. With
 * `declineDeflate` the offer is taken out of the upgrade request here, so the backend answers
 * as deployed: a socket without compression, the same handshake result as a declined offer.
 */
export class Forwarder {
  target: number | null = null;
  /** Whether upgrades reaching the backend are counted in `door` (from the kill on). */
  counting = false;
  /**
   * Upgrade requests handed to the backend, and how it answered them: counted here, at the
   * server's door, so an attempt the client gave up on still counts once the server had it.
   */
  readonly door = { requests: 0, switched: 0, refused: 0 };
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(readonly declineDeflate: boolean) {
    this.#server = createServer((client) => {
      if (this.target === null) return void client.destroy();
      const upstream = connect(this.target, "127.0.0.1");
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.once("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      // The request's head is read whole before anything goes on: it may be rewritten.
      let head = Buffer.alloc(0);
      const readHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        if (head.indexOf("\r\n\r\n") < 0) return;
        client.off("data", readHead);
        upstream.write(this.#admit(head, upstream));
        client.pipe(upstream);
      };
      client.on("data", readHead);
      upstream.pipe(client);
    });
  }

  /** An upgrade request's head as the backend gets it, counted if `counting`. */
  #admit(head: Buffer, upstream: Socket): Buffer {
    const text = head.toString("latin1");
    if (!/^upgrade: *websocket/im.test(text)) return head;
    if (this.counting) {
      this.door.requests++;
      upstream.once("data", (answer: Buffer) => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.toString("latin1"))?.[1]);
        if (status === 101) this.door.switched++;
        else if (status === 429 || status === 503) this.door.refused++;
      });
    }
    return this.declineDeflate ? Buffer.from(text.replace(/^sec-websocket-extensions:.*\r\n/gim, ""), "latin1") : head;
  }

  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.#server.listen(0, "127.0.0.1", () =>
        resolve(`http://127.0.0.1:${(this.#server.address() as { port: number }).port}`),
      ),
    );
  }

  /** The backend went away: every connection through it goes too. */
  drop(): void {
    this.target = null;
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): void {
    this.drop();
    this.#server.close();
  }
}

/**
 * A door that declines every deflate offer, in front of the backend at `url` (http://127.0.0.1:…):
 * clients that offer permessage-deflate, as real ones do, end uncompressed as against the
 * deployed Worker. Resolves with the door's own base URL and the door, to close when done.
 */
export async function decliningDoor(url: string): Promise<{ url: string; door: Forwarder }> {
  const door = new Forwarder(true);
  door.target = Number(new URL(url).port);
  return { url: await door.listen(), door };
}
