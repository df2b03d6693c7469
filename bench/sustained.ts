/**
 * §6 Sustained load: 100 accounts, each pushed every second (a window of its 50 newest
 * comments, 2 of them new) while 500 clients (5 per account) watch, for 60 s. Open loop: a
 * push goes out on schedule whether or not the previous one has been answered. Counted as
 * errors: a non-200 answer, a socket that fails, a message a client never got, a gap or a
 * repeat in a client's `seq`.
 */
import { framesOf, inPool, openClients } from "./clients";
import { comments, pushBody } from "./snapshots";
import { ms, sleep, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-load";
const ACCOUNTS = 100;
const CLIENTS_PER_ACCOUNT = 5;
const WINDOW = 50;
const NEW_PER_PUSH = 2;
const EXPECTED_BACK_MS = 10_000;
const SECTION = "6. Sustained load (100 accounts × 1 push/s, 500 clients)";

type Expected = { sentAt: number; remaining: number; last: number };

export async function sustained(b: Bench): Promise<Row[]> {
  const seconds = b.quick ? 15 : 60;
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `load-${String(i).padStart(3, "0")}`);
  await inPool(accounts.length, 8, async (i) => {
    const account = accounts[i]!;
    const answer = await b.backend.push(
      TENANT,
      account,
      pushBody(account, { comments: comments(account, 0, WINDOW, 5) }),
    );
    if (answer.status !== 200)
      throw new Error(`seeding ${account} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  });
  b.progress(`sustained: ${ACCOUNTS} accounts seeded; opening ${ACCOUNTS * CLIENTS_PER_ACCOUNT} sockets`);
  const set = await openClients(ACCOUNTS * CLIENTS_PER_ACCOUNT, async (i) => {
    const account = accounts[Math.floor(i / CLIENTS_PER_ACCOUNT)]!;
    const token = await b.backend.token("agent", TENANT, `agent-${i}`);
    return `${b.backend.url.replace("http", "ws")}/api/v1/accounts/${account}/ws?token=${token}`;
  });

  // Message id → when its push went out and how many of the account's clients still lack it.
  const expected = new Map<string, Expected>();
  const fanout: number[] = [];
  const httpTimes: number[] = [];
  const errors: string[] = [];
  let deliveries = 0;
  let answered = 0;
  const error = (message: string) => {
    if (errors.length < 20) errors.push(message);
    else errors.push("");
  };
  for (const client of set.clients) {
    let lastSeq: number | null = null;
    client.onText = (text, at) => {
      for (const frame of framesOf(text)) {
        const seq = frame.payload?.seq;
        if (typeof seq === "number") {
          if (lastSeq !== null && seq !== lastSeq + 1) error(`client ${client.index}: seq ${seq} after ${lastSeq}`);
          lastSeq = seq;
        }
        if (frame.type !== "channel:message") continue;
        const id = String(frame.payload?.message?.id);
        const entry = expected.get(id);
        if (!entry) continue;
        deliveries++;
        entry.remaining--;
        if (entry.remaining === 0) {
          if (entry.last) fanout.push(at - entry.sentAt);
          expected.delete(id);
        }
      }
    };
  }

  b.progress(`sustained: ${ACCOUNTS} pushes/s for ${seconds} s`);
  const started = performance.now();
  const inflight = new Set<Promise<void>>();
  const counters = accounts.map(() => WINDOW);
  let pushes = 0;
  let lastReport = started;
  for (let tick = 0; tick < seconds; tick++) {
    for (let i = 0; i < ACCOUNTS; i++) {
      // Account i pushes at i × 10 ms into every second.
      const due = started + tick * 1000 + (i * 1000) / ACCOUNTS;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const account = accounts[i]!;
      const from = counters[i]!;
      counters[i] = from + NEW_PER_PUSH;
      const window = comments(account, from + NEW_PER_PUSH - WINDOW, WINDOW, 5);
      const sentAt = performance.now();
      for (let k = 0; k < NEW_PER_PUSH; k++) {
        expected.set(`${account}-c${from + k}`, {
          sentAt,
          remaining: CLIENTS_PER_ACCOUNT,
          last: k === NEW_PER_PUSH - 1 ? 1 : 0,
        });
      }
      pushes++;
      const request = b.backend.push(TENANT, account, pushBody(account, { comments: window })).then(
        (answer) => {
          answered++;
          httpTimes.push(answer.ms);
          if (answer.status !== 200)
            error(`push to ${account} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        },
        (failure: Error) => error(`push to ${account} failed: ${failure.message}`),
      );
      inflight.add(request);
      void request.finally(() => inflight.delete(request));
    }
    if (performance.now() - lastReport >= 10_000) {
      lastReport = performance.now();
      b.progress(
        `sustained: ${tick + 1} s, ${pushes} pushes, ${answered} answered, ${deliveries} deliveries, ${errors.length} errors`,
      );
    }
  }
  const sendingSeconds = (performance.now() - started) / 1000;
  await Promise.all(inflight);
  const graceEnd = performance.now() + EXPECTED_BACK_MS;
  while (expected.size && performance.now() < graceEnd) await sleep(100);
  const elapsed = (performance.now() - started) / 1000;
  for (const [id, entry] of expected) error(`${entry.remaining} client(s) never got ${id}`);
  if (set.unexpected.length) for (const failure of set.unexpected) error(failure);
  await set.close();

  const errorCount = errors.length;
  if (errorCount) b.fail(`sustained: ${errorCount} error(s), first: ${errors.filter(Boolean).slice(0, 3).join("; ")}`);
  const http = summarize(httpTimes);
  const f = summarize(fanout);
  b.progress(
    `sustained: ${pushes} pushes in ${sendingSeconds.toFixed(1)} s, ${errorCount} errors, push p99 ${ms(http.p99)}, fan-out p99 ${ms(f.p99)}`,
  );
  return [
    {
      section: SECTION,
      name: "throughput",
      value: `${(answered / sendingSeconds).toFixed(1)} pushes/s`,
      notes: `${answered} pushes, ${pushes * NEW_PER_PUSH} new messages, ${deliveries} socket deliveries (${(deliveries / elapsed).toFixed(0)}/s)`,
    },
    {
      section: SECTION,
      name: "errors",
      value: String(errorCount),
      notes: "non-200, failed sockets, lost messages, seq gaps or repeats",
    },
    { section: SECTION, name: "push request → answer", median: http.median, p99: http.p99, n: http.n },
    { section: SECTION, name: "push request → new messages on all 5 sockets", median: f.median, p99: f.p99, n: f.n },
  ];
}
