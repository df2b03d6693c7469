/**
 * `npx tsx bench/single-push.ts [--refs=<ref>,…,tree] [--rounds=150]`
 *
 * The single-client push, with many more trials than the fan-out scenario gives it: each build
 * of the edge named in `--refs` (`tree` for the working tree) and the bare object broadcast
 * each get one socket, and a push of one new comment per round, taken in turn, each round
 * starting with another. Prints the median time from the POST to the frame on the socket
 * (÷ the bare object's) and to the answer, and the CPU time its workerd used per push (the
 * answer's work included; clock ticks of 10 ms, so read it over many rounds). At 30 trials the
 * fan-out's single-client column moves by ±4 ms between runs on a shared machine; a change worth
 * a millisecond needs this. `X_LOCAL_OBSERVABILITY=true` measures with wrangler's trace collector.
 *
 * The socket makes no deflate offer. A real client offers it and the deployed Worker declines
 * it, which ends the same way; a declining door (bench/forwarder.ts) would model the offer but
 * put a Node hop in front of every frame measured here, the edge's and the bare object's alike,
 * and pull their ratio towards 1. The fan-out scenario reports both ways.
 */
import { request, startBackend } from "./backend";
import type { Backend } from "./backend";
import { startBare } from "./bare";
import { openClients } from "./clients";
import { cpuMs } from "./machine";
import type { ClientSet } from "./clients";
import { comments, pushBody } from "./snapshots";
import { ms, sleep, summarize } from "./stats";

const TENANT = "bench-single";
const ACCOUNT = "single-1";
const WARMUP = 5;

type Peer = {
  label: string;
  /** The workerd that runs this peer's Worker and objects. */
  backend: Backend;
  sockets: ClientSet;
  send: (k: number) => Promise<void>;
  frame: number[];
  answer: number[];
};

function option(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

async function edgePeer(backend: Backend, label: string): Promise<Peer> {
  const seeded = await backend.push(TENANT, ACCOUNT, pushBody(ACCOUNT, { comments: comments(ACCOUNT, 0, 1) }));
  if (seeded.status !== 200) throw new Error(`${label}: seeding answered ${seeded.status}: ${seeded.text}`);
  const sockets = await openClients(
    1,
    async () =>
      `${backend.url.replace("http", "ws")}/api/v1/accounts/${ACCOUNT}/ws?token=${await backend.token("agent", TENANT)}`,
    { deflate: false },
  );
  return {
    label,
    backend,
    sockets,
    frame: [],
    answer: [],
    async send(k) {
      const answer = await backend.push(TENANT, ACCOUNT, pushBody(ACCOUNT, { comments: comments(ACCOUNT, k, 1) }));
      if (answer.status !== 200) throw new Error(`${label}: push answered ${answer.status}: ${answer.text}`);
    },
  };
}

async function barePeer(bare: Backend): Promise<Peer> {
  const sockets = await openClients(1, async () => `${bare.url.replace("http", "ws")}/ws?room=single`, {
    deflate: false,
  });
  return {
    label: "bare object",
    backend: bare,
    sockets,
    frame: [],
    answer: [],
    async send(k) {
      const body = pushBody("bare", { comments: comments("bare", k, 1) });
      const answer = await request(`${bare.url}/push?room=single`, { method: "POST", body });
      if (answer.status !== 200) throw new Error(`bare object answered ${answer.status}`);
    },
  };
}

/** One push to `peer`; resolves with the times to the frame carrying comment `k` and to the answer. */
async function trial(peer: Peer, k: number): Promise<{ frame: number; answer: number }> {
  const client = peer.sockets.clients[0]!;
  // Every comment's text carries "#<k> ", the edge's frame and the bare object's alike.
  const arrived = new Promise<number>((resolve) => {
    client.onText = (text, at) => {
      if (text.includes(`#${k} `)) resolve(at);
    };
  });
  const started = performance.now();
  await peer.send(k);
  const answer = performance.now() - started;
  return { frame: (await arrived) - started, answer };
}

async function main(): Promise<void> {
  const refs = option("refs", "HEAD,tree").split(",");
  const rounds = Number(option("rounds", "150"));
  const backends: Backend[] = [];
  try {
    const peers: Peer[] = [];
    for (const ref of refs) {
      const backend = await startBackend(ref === "tree" ? {} : { ref });
      backends.push(backend);
      peers.push(await edgePeer(backend, `edge ${backend.source.label}`));
    }
    const bare = await startBare(backends[0]!.project);
    backends.push(bare);
    peers.push(await barePeer(bare));
    const pids = await Promise.all(peers.map(async (peer) => [(await peer.backend.workerPid())!]));
    let cpuAtStart: number[] = [];
    for (let round = 0; round < WARMUP + rounds; round++) {
      if (round === WARMUP) cpuAtStart = await Promise.all(pids.map(cpuMs));
      for (let j = 0; j < peers.length; j++) {
        const peer = peers[(round + j) % peers.length]!;
        const result = await trial(peer, 1_000 + round);
        if (round >= WARMUP) {
          peer.frame.push(result.frame);
          peer.answer.push(result.answer);
        }
        await sleep(30);
      }
    }
    const cpu = await Promise.all(pids.map(cpuMs));
    const floor = summarize(peers.at(-1)!.frame).median;
    for (const [i, peer] of peers.entries()) {
      const frame = summarize(peer.frame).median;
      const answer = summarize(peer.answer).median;
      console.log(
        `${peer.label.padEnd(28)} frame ${ms(frame).padStart(8)} (÷ bare ${(frame / floor).toFixed(2)})  answer ${ms(answer).padStart(8)}  workerd CPU ${ms((cpu[i]! - cpuAtStart[i]!) / rounds)}/push  n=${peer.frame.length}`,
      );
    }
    for (const peer of peers) await peer.sockets.close();
  } finally {
    await Promise.all(backends.map((b) => b.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
