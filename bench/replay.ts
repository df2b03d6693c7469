/**
 * §7 Replay after a long absence: an agent reconnects with `since=0` to an account that made
 * 5,000 messages in 100 pushes while it was away (each push also updates the topics it
 * touched). Time to `sync:complete` and bytes on the wire, from a client that offers
 * permessage-deflate and one that does not; and, from the very texts received, what
 * per-message deflate would have sent (Node's zlib, one context per socket as RFC 7692's
 * context takeover keeps it), what one gzip of the whole would, and how many bytes are
 * `topic:updated` frames a later one supersedes.
 */
import { constants, createDeflateRaw, gzipSync } from "node:zlib";
import { openClients } from "./clients";
import { framesOf } from "./clients";
import { comments, pushBody } from "./snapshots";
import { ms, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-replay";
const ACCOUNT = "replay-1";
const PUSHES = 100;
const PER_PUSH = 50;
const WORKS = 10;
const SECTION = "7. Replay after a long absence (5,000 messages, 100 pushes, since=0)";

type Catchup = { ms: number; wire: number; texts: string[]; deflated: boolean };

async function catchUp(b: Bench, deflate: boolean, sub: string): Promise<Catchup> {
  const started = performance.now();
  const token = await b.backend.token("agent", TENANT, sub);
  const url = `${b.backend.url.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws?since=0&token=${token}`;
  const set = await openClients(1, async () => url, { deflate });
  const client = set.clients[0]!;
  const texts: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("replay: no sync:complete within 30 s")), 30_000);
    client.onText = (text) => {
      texts.push(text);
      if (text.includes('"sync:complete"')) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  const result = { ms: performance.now() - started, wire: set.bytesRead(), texts, deflated: set.deflated === 1 };
  await set.close();
  return result;
}

/** What permessage-deflate (context takeover, 15-bit window) would put on the wire for these texts. */
async function perMessageDeflate(texts: string[]): Promise<number> {
  const deflate = createDeflateRaw({ windowBits: 15 });
  let bytes = 0;
  deflate.on("data", (chunk: Buffer) => (bytes += chunk.length));
  for (const text of texts) {
    deflate.write(text);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    // RFC 7692 §7.2.1: the trailing 00 00 ff ff of each message is not sent.
    bytes -= 4;
  }
  deflate.end();
  return bytes;
}

/** Bytes of `topic:updated` events for a topic that a later one in the same replay updates again. */
function superseded(texts: string[]): number {
  const last = new Map<string, number>();
  const events = texts.flatMap((t) => (t.includes('"batch"') ? framesOf(t) : []));
  events.forEach((e, i) => {
    const topic = (e.payload as { topic?: { id?: string } } | undefined)?.topic?.id;
    if (e.type === "topic:updated" && topic) last.set(topic, i);
  });
  let bytes = 0;
  events.forEach((e, i) => {
    const topic = (e.payload as { topic?: { id?: string } } | undefined)?.topic?.id;
    if (e.type === "topic:updated" && topic && last.get(topic) !== i) bytes += JSON.stringify(e).length + 1;
  });
  return bytes;
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;

export async function replay(b: Bench): Promise<Row[]> {
  for (let p = 0; p < PUSHES; p++) {
    const body = pushBody(ACCOUNT, { comments: comments(ACCOUNT, p * PER_PUSH, PER_PUSH, WORKS) });
    // A crawler token per 10 pushes keeps the run under the per-token push limit.
    const answer = await b.backend.push(TENANT, ACCOUNT, body, `replay-crawler-${Math.floor(p / 10)}`);
    if (answer.status !== 200) throw new Error(`seeding push ${p} answered ${answer.status}: ${answer.text}`);
  }
  b.progress(`replay: ${PUSHES * PER_PUSH} messages in ${PUSHES} pushes; catching up from since=0`);
  const rounds = b.quick ? 2 : 5;
  const runs: Record<"offered" | "plain", Catchup[]> = { offered: [], plain: [] };
  for (let r = 0; r < rounds; r++) {
    runs.offered.push(await catchUp(b, true, `replay-agent-${r}`));
    runs.plain.push(await catchUp(b, false, `replay-agent-plain-${r}`));
  }
  const sample = runs.plain[0]!;
  const raw = sample.texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
  const deflated = await perMessageDeflate(sample.texts);
  const gzipped = gzipSync(sample.texts.join("\n")).length;
  const extra = superseded(sample.texts);
  const rows: Row[] = [];
  for (const [key, list] of Object.entries(runs)) {
    const time = summarize(list.map((c) => c.ms));
    const wire = summarize(list.map((c) => c.wire));
    rows.push({
      section: SECTION,
      name: key === "offered" ? "catch-up, client offers deflate" : "catch-up, deflate not offered",
      median: time.median,
      p99: time.p99,
      n: time.n,
      notes: `${kB(wire.median)} on the wire (deflate negotiated: ${list[0]!.deflated ? "yes" : "no"}); ${list[0]!.texts.length} frames`,
    });
  }
  rows.push(
    {
      section: SECTION,
      name: "the same texts: uncompressed",
      value: kB(raw),
      notes: `${sample.texts.length} frames, ${PUSHES * PER_PUSH} messages`,
    },
    {
      section: SECTION,
      name: "the same texts: per-message deflate (estimate)",
      value: kB(deflated),
      notes: `${((100 * deflated) / raw).toFixed(0)} % of uncompressed; Node zlib, one context for the socket`,
    },
    {
      section: SECTION,
      name: "the same texts: one gzip of the whole",
      value: kB(gzipped),
      notes: `${((100 * gzipped) / raw).toFixed(0)} %: what an HTTP catch-up compressed by Cloudflare's edge would cost`,
    },
    {
      section: SECTION,
      name: "topic:updated superseded later in the same replay",
      value: kB(extra),
      notes: `${((100 * extra) / raw).toFixed(0)} % of uncompressed`,
    },
  );
  b.progress(`replay: ${ms(summarize(runs.plain.map((c) => c.ms)).median)}, ${kB(raw)} raw, ${kB(deflated)} deflated`);
  return rows;
}
