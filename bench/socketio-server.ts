/**
 * The seed's shape, as a peer: a Socket.IO 4 server with default options (which does not take
 * up a client's permessage-deflate offer) doing what the seed's Master did on a crawler push —
 * parse the snapshot, keep it in memory per account, and `io.to(account).emit` one
 * `channel:message` per comment it had not seen. A client joins its account's room with
 * `?room=<accountId>` in the handshake. Runs as its own process (floor.ts); tells its port over IPC.
 */
import { createServer } from "node:http";
import { Server } from "socket.io";

type Comment = { comment_id: string; work_id: string; content: string; author_id: string; create_time: number };

/** Account → comment id → the comment as last pushed. */
const snapshots = new Map<string, Map<string, Comment>>();
let seq = 0;

function onPush(body: { accountId: string; snapshot: { comments?: Comment[] } }): number {
  const room = body.accountId;
  let known = snapshots.get(room);
  if (!known) snapshots.set(room, (known = new Map()));
  for (const c of body.snapshot.comments ?? []) {
    const isNew = !known.has(c.comment_id);
    known.set(c.comment_id, c);
    if (!isNew) continue;
    seq++;
    const message = {
      id: c.comment_id,
      channelId: room,
      topicId: c.work_id,
      seq,
      kind: "comment",
      authorId: c.author_id,
      content: c.content,
      timestamp: c.create_time * 1000,
    };
    io.to(room).emit("channel:message", { seq, channelId: room, topicId: c.work_id, message });
  }
  return seq;
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const seqNow = onPush(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ ok: true, seq: seqNow }));
  });
});
const io = new Server(server);
io.on("connection", (socket) => {
  void socket.join(String(socket.handshake.query.room ?? ""));
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
