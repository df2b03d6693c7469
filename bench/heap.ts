/**
 * The JS heap of the isolate that runs the Worker and its objects, read through workerd's V8
 * inspector (`Runtime.getHeapUsage`) as often as the isolate answers while something runs.
 * Locally the Worker and every object share that one isolate, so a peak bounds both.
 */
import WebSocket from "ws";

/** Bytes in the JS heap, and in ArrayBuffers outside it (a push's packed text): both count against the isolate. */
export type HeapUse = { heap: number; total: number };

type CdpMessage = { id?: number; result?: Record<string, unknown>; error?: { message: string } };

export type HeapSampler = {
  /** The isolate's memory now. */
  used(): Promise<HeapUse>;
  /**
   * Samples the isolate's memory until `work` settles: the peaks, the first sample and how many
   * samples were taken (a long synchronous stretch answers late, so few samples mean a coarse
   * peak). Garbage not yet collected counts: workerd's inspector runs no GC on request.
   */
  during<T>(work: Promise<T>): Promise<{ value: T; peak: HeapUse; start: HeapUse; samples: number }>;
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
  // A long push holds the isolate for seconds; past a minute the session is taken as lost.
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the inspector did not answer ${method} within 60 s`));
      }, 60_000);
      pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      socket.send(JSON.stringify({ id, method, params: {} }));
    });
  const used = async (): Promise<HeapUse> => {
    const usage = await call("Runtime.getHeapUsage");
    const heap = Number(usage.usedSize);
    return { heap, total: heap + Number(usage.backingStorageSize ?? 0) };
  };

  return {
    used,
    async during(work) {
      let done = false;
      const settled = work.finally(() => {
        done = true;
      });
      const start = await used();
      const peak = { ...start };
      let samples = 1;
      while (!done) {
        const now = await used();
        peak.heap = Math.max(peak.heap, now.heap);
        peak.total = Math.max(peak.total, now.total);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return { value: await settled, peak, start, samples };
    },
    close: () => socket.close(),
  };
}
