/**
 * The runtime's floor for fan-out: the least a Worker and one Durable Object can do for the
 * job. The Worker forwards every request to one object by `fetch`; the object accepts an
 * upgrade as a hibernatable socket and sends a POST's body, as it came, to every socket. No
 * auth, no validation, no storage. bench/bare.ts runs it with the project's compatibility
 * date and flags, on the same wrangler and workerd.
 */
import { DurableObject } from "cloudflare:workers";

type Env = { BROADCAST: DurableObjectNamespace<Broadcast> };

export class Broadcast extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") === "websocket") {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const body = await request.text();
    for (const ws of this.ctx.getWebSockets()) ws.send(body);
    return new Response("ok");
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    // What bench/backend.ts polls to know the Worker is up, answered as the project's Worker does.
    if (url.pathname === "/api/v1/status") return Response.json({ status: "ok" });
    const room = url.searchParams.get("room") ?? "bench";
    return env.BROADCAST.get(env.BROADCAST.idFromName(room)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
