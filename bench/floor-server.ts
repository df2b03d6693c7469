/**
 * The floor: the least a server can do for the same job. A plain Node `http` + `ws` server
 * that, on `POST /push?size=<bytes>`, parses the body, builds a `channel:message` frame for
 * its first comment padded to `size` bytes and sends it to every connected client. Runs as
 * its own process (started by floor.ts), like workerd does; tells its port over IPC.
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

let seq = 0;
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const size = Number(new URL(request.url ?? "/", "http://floor").searchParams.get("size") ?? 0);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      accountId: string;
      snapshot: { comments: { comment_id: string; work_id: string; content: string }[] };
    };
    const c = body.snapshot.comments[0]!;
    seq++;
    const message = {
      id: c.comment_id,
      channelId: body.accountId,
      topicId: c.work_id,
      seq,
      kind: "comment",
      content: c.content,
    };
    let frame = JSON.stringify({
      type: "channel:message",
      payload: { seq, channelId: body.accountId, topicId: c.work_id, message, pad: "" },
    });
    if (size > frame.length) frame = frame.replace('"pad":""', `"pad":"${"x".repeat(size - frame.length)}"`);
    for (const client of wss.clients) client.send(frame);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ ok: true, seq }));
  });
});
// ws's defaults: a server that does not take up the clients' permessage-deflate offer.
const wss = new WebSocketServer({ server });
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
