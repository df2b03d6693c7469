/** Starts and stops the Node peers (floor-server.ts, socketio-server.ts) as child processes. */
import { fork } from "node:child_process";
import { vmRssKiB } from "./backend";

export type Floor = { url: string; pid: number; rss(): Promise<number>; stop(): Promise<void> };

/** Runs `script` (next to this file) in its own Node process; it tells its port over IPC. */
export async function startPeer(script: string): Promise<Floor> {
  const child = fork(new URL(script, import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    rss: () => vmRssKiB(child.pid!),
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The plain `ws` broadcast server. */
export const startFloor = (): Promise<Floor> => startPeer("./floor-server.ts");
