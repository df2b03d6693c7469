/**
 * §4 Idle cost and §5 memory. 1,000 clients on one account send exactly `{"type":"ping"}`
 * every 5 s for a minute; logpoints on every AccountRoom method (inspector.ts) count how often
 * its code ran: that must be zero, the runtime answers the heartbeat itself — except the
 * room's alarm announcing its crawler's health transitions (PROTOCOL §10): the crawler's last
 * push just before the minute says it comes every sixth of the minute, so the channel turns
 * `late` and then `offline` within it, and each of those may wake the room once; those
 * wake-ups are reported on their own line. Afterwards one real
 * frame shows whether the object had been hibernated meanwhile (its constructor runs again).
 * Memory: resident memory of the workerd processes before and after opening the 1,000
 * sockets, and again after the idle minute (what a warm socket costs: memory.ts).
 */
import { openClients } from "./clients";
import type { Client } from "./clients";
import { attachLogpoints } from "./inspector";
import type { Logpoints } from "./inspector";
import { comment, pushBody } from "./snapshots";
import { mib, ms, sleep, summarize } from "./stats";
import type { Bench, Row } from "./types";

const TENANT = "bench-idle";
const ACCOUNT = "idle-1";
const CLIENTS = 1_000;
const PING_EVERY_MS = 5_000;
const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';
/** Real frames sent before the idle minute, to see the logpoints count them. */
const CALIBRATION = 3;
const IDLE = "4. Idle (1,000 clients sending only the heartbeat)";
export const MEMORY = "5. Memory (resident)";

/** Sends `monitor:request_topics` with this id; resolves whether the answer came within 10 s. */
function ask(client: Client, id: string): Promise<boolean> {
  return new Promise((resolve) => {
    const previous = client.onText;
    const timer = setTimeout(() => {
      client.onText = previous;
      resolve(false);
    }, 10_000);
    client.onText = (text, at) => {
      if (!text.includes(`"id":"${id}"`)) return previous?.(text, at);
      clearTimeout(timer);
      client.onText = previous;
      resolve(true);
    };
    client.ws.send(JSON.stringify({ type: "monitor:request_topics", id }));
  });
}

/** Resident KiB of the workerd running the Worker and of wrangler's proxy workerd, median of three samples. */
async function settledRss(b: Bench): Promise<{ worker: number; proxy: number }> {
  const worker: number[] = [];
  const proxy: number[] = [];
  for (let i = 0; i < 3; i++) {
    const rss = await b.backend.rss();
    worker.push(rss.worker);
    proxy.push(rss.total - rss.worker);
    await sleep(500);
  }
  return { worker: summarize(worker).median, proxy: summarize(proxy).median };
}

export async function idle(b: Bench): Promise<Row[]> {
  const rows: Row[] = [];
  const seconds = b.quick ? 15 : 60;
  const seeded = await b.backend.push(TENANT, ACCOUNT, pushBody(ACCOUNT, { comments: [comment(ACCOUNT, 0, "w0")] }));
  if (seeded.status !== 200) throw new Error(`seeding ${ACCOUNT} answered ${seeded.status}: ${seeded.text}`);

  await sleep(2_000);
  const rssBefore = await settledRss(b);
  b.progress(`idle: opening ${CLIENTS} sockets on ${ACCOUNT} (workerd RSS ${mib(rssBefore.worker)})`);
  const set = await openClients(CLIENTS, async (i) => {
    const token = await b.backend.token("agent", TENANT, `agent-${i}`);
    return `${b.backend.url.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws?token=${token}`;
  });
  await sleep(3_000);
  const rssOpen = await settledRss(b);

  // The crawler's last sign of life: late after 2 of its intervals, offline after 5, both within the idle time.
  const intervalMs = Math.max(1_000, Math.round((seconds * 1000) / 6));
  const lastSeen = await b.backend.push(
    TENANT,
    ACCOUNT,
    JSON.stringify({
      ...JSON.parse(pushBody(ACCOUNT, { comments: [comment(ACCOUNT, 0, "w0")] })),
      crawler: { intervalMs },
    }),
  );
  if (lastSeen.status !== 200) throw new Error(`the crawler's last push answered ${lastSeen.status}: ${lastSeen.text}`);
  const lastSeenAt = Date.now();

  // The logpoints go in only now (each hit costs the inspector a compiled condition), and must
  // first see what they are for: a few real frames, each a webSocketMessage.
  let logpoints: Logpoints | null = null;
  let calibrated = 0;
  try {
    logpoints = await attachLogpoints(b.backend.inspectorUrl, "AccountRoom");
    for (const client of set.clients.slice(0, CALIBRATION)) {
      await ask(client, `calibrate-${client.index}`);
    }
    await sleep(500);
    calibrated = logpoints.count("webSocketMessage");
    if (calibrated !== CALIBRATION) {
      b.fail(`idle: the logpoints counted ${calibrated} of ${CALIBRATION} frames; the wake-up count cannot be trusted`);
    }
    logpoints.reset();
  } catch (error) {
    b.fail(`idle: no logpoints, wake-ups cannot be counted: ${error instanceof Error ? error.message : String(error)}`);
  }
  b.progress(
    `idle: ${CLIENTS} sockets open (workerd RSS ${mib(rssOpen.worker)}); logpoints counted ${calibrated} of ${CALIBRATION} test frames; heartbeat for ${seconds} s`,
  );

  let sent = 0;
  let pongs = 0;
  let other = 0;
  const roundTrips: number[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (const client of set.clients) {
    const outstanding: number[] = [];
    client.onText = (text, at) => {
      if (text === PONG) {
        pongs++;
        const sentAt = outstanding.shift();
        if (sentAt !== undefined) roundTrips.push(at - sentAt);
      } else other++;
    };
    const ping = () => {
      outstanding.push(performance.now());
      client.ws.send(PING);
      sent++;
    };
    // Spread evenly: CLIENTS pings per PING_EVERY_MS, one every 5 ms.
    timers.push(
      setTimeout(
        () => {
          ping();
          timers.push(setInterval(ping, PING_EVERY_MS));
        },
        (client.index * PING_EVERY_MS) / CLIENTS,
      ),
    );
  }
  const idleStarted = performance.now();
  const idleStartedAt = Date.now();
  for (let elapsed = 0; elapsed < seconds;) {
    const step = Math.min(10, seconds - elapsed);
    await sleep(step * 1000);
    elapsed += step;
    b.progress(
      `idle: ${((performance.now() - idleStarted) / 1000).toFixed(0)} s, ${sent} pings, ${pongs} pongs, AccountRoom code ran ${logpoints?.total() ?? "?"} times`,
    );
  }
  for (const timer of timers) clearTimeout(timer);
  await sleep(1_000);
  const idleEndedAt = Date.now();
  // An alarm may find the object evicted: its constructor then runs too, and belongs to that wake-up.
  const alarms = logpoints?.count("alarm") ?? NaN;
  const alarmConstructors = Math.min(logpoints?.count("constructor") ?? 0, alarms);
  const wakeups = (logpoints?.total() ?? NaN) - alarms - alarmConstructors;
  const hits = logpoints?.hits() ?? {};
  const transitions = [2, 5]
    .map((after) => lastSeenAt + after * intervalMs)
    .filter((at) => at >= idleStartedAt && at <= idleEndedAt).length;
  const rssIdle = await settledRss(b);

  // One real frame: did the object have to be constructed again to answer it?
  logpoints?.reset();
  const answered = await ask(set.clients[0]!, "probe");
  await sleep(500);
  const rebuilt = (logpoints?.count("constructor") ?? 0) > 0;
  if (!answered) b.fail("idle: the first real frame after the idle minute got no answer within 10 s");
  if (set.unexpected.length) b.fail(`idle: ${set.unexpected.length} socket(s) failed: ${set.unexpected[0]}`);
  const lost = logpoints?.lost();
  if (lost) b.fail(`idle: ${lost}; the wake-up count is incomplete`);
  await logpoints?.close();

  await set.close();

  if (wakeups > 0)
    b.fail(`idle: the AccountRoom ran code ${wakeups} times during the heartbeat minute: ${JSON.stringify(hits)}`);
  if (alarms > transitions)
    b.fail(
      `idle: ${alarms} alarms for ${transitions} health transitions; a transition must wake the room at most once`,
    );
  if (pongs !== sent) b.fail(`idle: ${sent - pongs} of ${sent} pings got no pong`);
  if (other > 0) b.fail(`idle: ${other} frames other than pong arrived while idle`);
  const rt = summarize(roundTrips);
  rows.push(
    {
      section: IDLE,
      name: `AccountRoom wake-ups in ${seconds} s (besides health transitions)`,
      value: Number.isNaN(wakeups) ? "not measured" : String(wakeups),
      notes: `constructor and method runs but the health alarms', counted by inspector logpoints (which counted ${calibrated} of ${CALIBRATION} test frames); ${sent} pings, ${pongs} pongs`,
    },
    {
      section: IDLE,
      name: `health-transition wake-ups in ${seconds} s`,
      value: Number.isNaN(alarms) ? "not measured" : String(alarms),
      notes: `the room's alarm (with its constructor ${alarmConstructors} times); ${transitions} transitions (online → late → offline, interval ${intervalMs / 1000} s) fell in the idle time`,
    },
    { section: IDLE, name: "heartbeat round trip (runtime auto-response)", median: rt.median, p99: rt.p99, n: rt.n },
    {
      section: IDLE,
      name: "object hibernated while idle (local workerd)",
      value: logpoints ? (rebuilt ? "yes" : "no") : "unknown",
      notes: rebuilt
        ? "the first real frame afterwards ran the constructor again: the object had been evicted, its sockets stayed open"
        : "the first real frame afterwards found the object still in memory",
    },
    {
      section: MEMORY,
      name: "first 1,000 sockets: workerd running the Worker",
      value: mib(rssOpen.worker - rssBefore.worker),
      notes: `${mib(rssBefore.worker)} → ${mib(rssOpen.worker)}, fresh runtime; includes its warming up`,
    },
    {
      section: MEMORY,
      name: `the same after ${seconds} s idle`,
      value: mib(rssIdle.worker - rssBefore.worker),
      notes: `${mib(rssIdle.worker)} total${rebuilt ? "; the object had hibernated, the sockets stay" : ""}`,
    },
  );
  if (b.backend.url === b.backend.proxyUrl) {
    rows.push({
      section: MEMORY,
      name: "per 1,000 open sockets: wrangler's proxy workerd",
      value: mib(rssOpen.proxy - rssBefore.proxy),
      notes: `${mib(rssBefore.proxy)} → ${mib(rssOpen.proxy)}; a local-only hop (--via-proxy), not in production`,
    });
  }
  b.progress(`idle: ${wakeups} wake-ups; heartbeat round trip median ${ms(rt.median)}; hibernated: ${rebuilt}`);
  return rows;
}
