/**
 * The JS heap of the isolate that runs the Worker and its objects, read through workerd's V8
 * inspector (`Runtime.getHeapUsage`) as often as the isolate answers while something runs.
 * Locally the Worker and every object share that one isolate, so a peak bounds both.
 */
import WebSocket from "ws";

type CdpMessage = { id?: number; result?: Record<string, unknown>; error?: { message: string } };

export type HeapSampler = {
  /** Runs a full GC, so a measurement starts from what is really live. */
  collect(): Promise<void>;
  /** Used heap (bytes) now. */
  used(): Promise<number>;
  /**
   * Samples the used heap until `work` settles; the peak, the first sample and how many samples
   * were taken (a long synchronous stretch answers late, so a few samples mean a coarse peak).
   */
  during<T>(work: Promise<T>): Promise<{ value: T; peak: number; start: number; samples: number }>;
  close(): void;
};

export async function attachHeapSampler(url: string): Promise<HeapSampler> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as CdpMessage;
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result ?? {});
  });
  socket.on("close", () => {
    for (const waiter of pending.values()) waiter.reject(new Error("inspector session closed"));
    pending.clear();
  });
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params: {} }));
    });
  const used = async () => Number((await call("Runtime.getHeapUsage")).usedSize);

  return {
    collect: async () => {
      await call("HeapProfiler.collectGarbage");
    },
    used,
    async during(work) {
      let done = false;
      const settled = work.finally(() => {
        done = true;
      });
      const start = await used();
      let peak = start;
      let samples = 1;
      while (!done) {
        peak = Math.max(peak, await used());
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return { value: await settled, peak, start, samples };
    },
    close: () => socket.close(),
  };
}
