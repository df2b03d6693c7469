/** Starts and stops the floor server (floor-server.ts) as a child process. */
import { fork } from "node:child_process";
import { vmRssKiB } from "./backend";

export type Floor = { url: string; pid: number; rss(): Promise<number>; stop(): Promise<void> };

export async function startFloor(): Promise<Floor> {
  const child = fork(new URL("./floor-server.ts", import.meta.url).pathname, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`floor server exited with ${code}`)));
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
