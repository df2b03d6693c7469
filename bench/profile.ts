/**
 * `npx tsx bench/profile.ts [--items=10000] [--new=0|1|100] [--rounds=3] [--clients=0] [--top=25]`
 * `npx tsx bench/profile.ts --upgrades=500 [--items=50] [--wave=100]`
 *
 * Where a push spends its time: starts the backend like the bench does, seeds an account,
 * then takes a V8 CPU profile of workerd (the inspector's `Profiler` domain) during a few
 * pushes of the given size and share of new items, and prints the functions with the most
 * self time, the most total time (with what they called) and the hottest lines. Worker and AccountRoom share one isolate locally, so both sides show. With
 * `--clients`, that many agent sockets are open on the account, so the fan-out shows too
 * (`--items=1 --new=100 --rounds=200 --clients=1`: the single-client push path).
 *
 * With `--upgrades`, the profile covers clients coming back instead of pushes: that many agents
 * (each its own token and device) open their account socket from `since=0` and register, and
 * their Directory socket, `--wave` at once — what a reconnect herd is made of (comeBack below),
 * offering deflate through a door that declines it as the deployed Worker does
 * (bench/forwarder.ts). The room has not restarted, so each arrival is new to it and announced
 * to the others (N² `status_change` frames); a restarted room expects its clients back and
 * announces none (bench/restart.ts).
 */
import WebSocket from "ws";
import { startBackend } from "./backend";
import { openClients } from "./clients";
import { decliningDoor } from "./forwarder";
import type { Forwarder } from "./forwarder";
import { cpuMs } from "./machine";
import { comments, pushBody } from "./snapshots";
import { ms, summarize } from "./stats";

type Node = {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number };
  positionTicks?: { line: number; ticks: number }[];
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.split("=")[1]) : fallback;
}

async function main(): Promise<void> {
  const items = flag("items", 10_000);
  const share = flag("new", 0);
  const top = flag("top", 25);
  const rounds = flag("rounds", 3);
  const clients = flag("clients", 0);
  const upgrades = flag("upgrades", 0);
  const wave = flag("wave", 100);
  const backend = await startBackend({});
  const doors: Forwarder[] = [];
  try {
    const account = "profile-1";
    const tenant = "bench-profile";
    const base = comments(account, 0, items);
    let answer = await backend.push(tenant, account, pushBody(account, { comments: base }));
    if (answer.status !== 200) throw new Error(`seed: ${answer.status} ${answer.text}`);
    const sockets = await openClients(clients, async (i) => {
      const token = await backend.token("agent", tenant, `agent-${i}`);
      return `${backend.url.replace("http", "ws")}/api/v1/accounts/${account}/ws?token=${token}`;
    });

    const socket = new WebSocket(backend.inspectorUrl);
    await new Promise((resolve) => socket.once("open", resolve));
    socket.on("close", (code) => console.error(`inspector closed (${code})`));
    let nextId = 0;
    const waiters = new Map<number, (result: unknown) => void>();
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) waiters.get(message.id)?.(message.result);
    });
    const sources = new Map<string, string[]>();
    const call = (method: string, params: object = {}) =>
      new Promise<unknown>((resolve) => {
        const id = ++nextId;
        waiters.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      });
    await call("Debugger.enable");
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 200 });
    const pid = await backend.workerPid();
    const pids = pid === null ? [] : [pid];
    const cpuBefore = [await cpuMs(pids), process.cpuUsage()] as const;
    await call("Profiler.start");
    const times: number[] = [];
    const open: WebSocket[] = [];
    if (upgrades) {
      // The clients offer deflate; the door declines it, as the deployed Worker does.
      const { url, door } = await decliningDoor(backend.url);
      doors.push(door);
      const base = url.replace("http", "ws");
      const tokens = await Promise.all(
        Array.from({ length: upgrades }, (_, i) => backend.token("agent", tenant, `resume-${i}`)),
      );
      for (let from = 0; from < upgrades; from += wave) {
        const back = await Promise.all(
          tokens.slice(from, from + wave).map((token, i) => comeBack(base, account, token, `device-${from + i}`)),
        );
        for (const client of back) {
          times.push(client.ms);
          open.push(...client.open);
        }
      }
    } else {
      let offset = items;
      for (let round = 0; round < rounds; round++) {
        const every = share === 0 ? Infinity : Math.round(100 / share);
        const body = base.map((c, i) => (i % every === every - 1 ? comments(account, offset++, 1)[0]! : c));
        answer = await backend.push(tenant, account, pushBody(account, { comments: body }));
        times.push(answer.ms);
        if (answer.status !== 200 || rounds <= 10)
          console.log(`push ${round + 1}: ${answer.status} in ${ms(answer.ms)}`);
      }
    }
    const { profile } = (await call("Profiler.stop")) as { profile: Profile };
    const workerdCpu = (await cpuMs(pids)) - cpuBefore[0];
    const ownCpu = process.cpuUsage(cpuBefore[1]);
    console.log(
      `CPU: workerd ${ms(workerdCpu)}, this process ${ms((ownCpu.user + ownCpu.system) / 1000)} (the profile's times are wall time, so they include any wait for a core)`,
    );
    await sockets.close();
    for (const ws of open) ws.terminate();
    console.log(
      upgrades
        ? `${upgrades} clients back: median ${ms(summarize(times).median)} from request to synced, registered and listed`
        : `${rounds} pushes: median ${ms(summarize(times).median)} from request to answer`,
    );
    for (const id of new Set(profile.nodes.map((n) => n.callFrame.scriptId))) {
      if (id === "0") continue;
      const { scriptSource } = (await call("Debugger.getScriptSource", { scriptId: id })) as { scriptSource?: string };
      if (scriptSource) sources.set(id, scriptSource.split("\n"));
    }
    socket.close();
    const lineText = (scriptId: string, line: number) => (sources.get(scriptId)?.[line - 1] ?? "").trim().slice(0, 90);

    const self = new Map<number, number>();
    profile.samples.forEach((node, i) => self.set(node, (self.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const byFunction = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const micros = self.get(node.id) ?? 0;
      const { functionName, url: file, lineNumber } = node.callFrame;
      if (functionName === "(idle)" || functionName === "(program)") continue;
      const key = `${functionName || "(anonymous)"} ${file.split("/").pop()}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
      total += micros;
    }
    console.log(
      upgrades
        ? `\nself time, busy total ${ms(total / 1000)} over ${upgrades} upgrades replaying ${items} items, ${wave} at once:`
        : `\nself time, busy total ${ms(total / 1000)} over ${rounds} pushes of ${items} items (${share} % new), ${clients} socket(s):`,
    );
    for (const [key, micros] of [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms(micros / 1000).padStart(10)}  ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
    }
    // Total time: each sample counts once for every function on its stack (recursion once).
    const keyOf = (node: Node) =>
      `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}:${node.callFrame.lineNumber + 1}`;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parentOf = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
    const inclusive = new Map<string, number>();
    profile.samples.forEach((leaf, i) => {
      const name = nodes.get(leaf)?.callFrame.functionName;
      if (name === "(idle)" || name === "(program)") return;
      const keys = new Set<string>();
      for (let id: number | undefined = leaf; id !== undefined; id = parentOf.get(id)) keys.add(keyOf(nodes.get(id)!));
      for (const key of keys) inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    inclusive.delete(keyOf(profile.nodes[0]!));
    console.log("\ntotal time (self and everything it called):");
    for (const [key, micros] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms(micros / 1000).padStart(10)}  ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
    }
    // Hot lines: each node's ticks by source line, its self time shared out in proportion.
    const byLine = new Map<string, number>();
    for (const node of profile.nodes) {
      const micros = self.get(node.id) ?? 0;
      const ticks = node.positionTicks ?? [];
      const sum = ticks.reduce((a, t) => a + t.ticks, 0);
      for (const t of ticks) {
        const key = `${node.callFrame.url.split("/").pop()}:${t.line}  ${lineText(node.callFrame.scriptId, t.line)}`;
        byLine.set(key, (byLine.get(key) ?? 0) + (micros * t.ticks) / sum);
      }
    }
    console.log("\nhot lines:");
    for (const [key, micros] of [...byLine.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms(micros / 1000).padStart(10)}  ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`);
    }
  } finally {
    for (const door of doors) door.close();
    await backend.stop();
  }
}

/**
 * One client coming back as the adapter does: its account socket resumes from `since=0` with its
 * `clientId` and registers; its Directory socket opens beside it. Resolves with ms from the
 * request to the later of `sync:complete`, `monitor:registered` and the Directory's channel list,
 * and the two sockets, which stay open: in a herd nobody leaves.
 */
function comeBack(
  base: string,
  account: string,
  token: string,
  clientId: string,
): Promise<{ ms: number; open: WebSocket[] }> {
  const started = performance.now();
  // ws's default offer (permessage-deflate), as browsers and the adapter make it.
  const room = new WebSocket(`${base}/api/v1/accounts/${account}/ws?token=${token}&clientId=${clientId}&since=0`);
  const directory = new WebSocket(`${base}/api/v1/ws?token=${token}`);
  const awaited = (ws: WebSocket, done: (text: string) => boolean) =>
    new Promise<void>((resolve, reject) => {
      ws.on("message", (data: Buffer) => {
        if (done(data.toString())) resolve();
      });
      ws.once("error", reject);
    });
  const register = JSON.stringify({ type: "monitor:register", payload: { clientId } });
  room.once("open", () => room.send(register));
  directory.once("open", () => directory.send(register));
  let synced = false;
  let registered = false;
  return Promise.all([
    awaited(room, (text) => {
      synced ||= text.includes('"sync:complete"');
      registered ||= text.includes('"monitor:registered"');
      return synced && registered;
    }),
    awaited(directory, (text) => text.includes('"monitor:channels"')),
  ]).then(() => ({ ms: performance.now() - started, open: [room, directory] }));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
