/**
 * Counts how often AccountRoom code runs, without touching its source: logpoints through
 * workerd's V8 inspector (the DevTools protocol), one on the first line of the constructor
 * and of every method of the bundled `AccountRoom` class. A logpoint is a breakpoint whose
 * condition logs and returns false, so execution never pauses; each hit arrives here as a
 * `Runtime.consoleAPICalled` event. Zero hits means no AccountRoom JavaScript ran at all.
 * The session goes through wrangler's inspector proxy (`wrangler dev --inspector-port`), the
 * one DevTools itself uses; a second direct session to workerd gets closed.
 */
import WebSocket from "ws";

const MARK = `__bench_hit_${Math.random().toString(36).slice(2)}__`;

type CdpResult = Record<string, unknown>;
type Pending = { resolve: (value: CdpResult) => void; reject: (error: Error) => void };
type CdpMessage = {
  id?: number;
  method?: string;
  params?: { scriptId?: string; url?: string; args?: { value?: unknown }[] };
  result?: CdpResult;
  error?: { message: string };
};
type Script = { scriptId: string; url: string };

export type Logpoints = {
  /** Method names the logpoints sit on (`constructor` included). */
  methods: string[];
  /** Hits per method since the last `reset()`. */
  hits(): Record<string, number>;
  /** Hits of one method since the last `reset()`. */
  count(method: string): number;
  total(): number;
  reset(): void;
  /** Why the session ended early, if it did: counts after that are not to be trusted. */
  lost(): string | null;
  close(): Promise<void>;
};

/**
 * Connects to the worker's inspector and sets a logpoint on the constructor and on every
 * method of `className` in the bundle. Resolves once they are all set.
 */
export async function attachLogpoints(url: string, className: string): Promise<Logpoints> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let nextId = 0;
  const pending = new Map<number, Pending>();
  const scripts: Script[] = [];
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  let closing = false;
  let lost: string | null = null;
  socket.on("close", (code) => {
    if (!closing) lost = `inspector session closed (${code})`;
    for (const waiter of pending.values()) waiter.reject(new Error(lost ?? "inspector session closed"));
    pending.clear();
  });
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as CdpMessage;
    if (message.id !== undefined && pending.has(message.id)) {
      const waiter = pending.get(message.id)!;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`${message.error.message}`));
      else waiter.resolve(message.result ?? {});
      return;
    }
    if (process.env.BENCH_CDP_DEBUG && message.method !== "Debugger.scriptParsed")
      console.error("cdp", JSON.stringify(message).slice(0, 300));
    if (message.method === "Debugger.scriptParsed") {
      scripts.push({ scriptId: String(message.params?.scriptId), url: String(message.params?.url) });
    }
    if (message.method === "Runtime.consoleAPICalled") {
      const args = message.params?.args ?? [];
      if (args[0]?.value === MARK) {
        const name = String(args[1]?.value);
        counts[name] = (counts[name] ?? 0) + 1;
      }
    }
  });
  const call = (method: string, params: Record<string, unknown> = {}): Promise<CdpResult> =>
    new Promise((resolve, reject) => {
      if (socket.readyState !== WebSocket.OPEN) return reject(new Error(lost ?? "inspector session is not open"));
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });

  await call("Runtime.enable");
  await call("Debugger.enable");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const bundle = scripts.find((s) => /\/\.wrangler\/tmp\/dev-[^/]+\/index\.js$/.test(s.url));
  if (!bundle)
    throw new Error(`no wrangler bundle among the inspector's scripts (${scripts.map((s) => s.url).join(", ")})`);
  const { scriptSource } = await call("Debugger.getScriptSource", { scriptId: bundle.scriptId });
  const lines = String(scriptSource).split("\n");
  const start = lines.findIndex((line) => new RegExp(`^var ${className} = class\\b`).test(line));
  if (start < 0) throw new Error(`class ${className} not found in the bundle`);
  const methods: string[] = [];
  for (let i = start + 1; i < lines.length && !/^};?$/.test(lines[i]!); i++) {
    // esbuild prints class members at two spaces: `  async name(args) {`, `  constructor(…) {`.
    const member = /^ {2}(?:async )?(?:static )?(\w+)\(.*\) \{$/.exec(lines[i]!);
    if (!member) continue;
    const name = member[1]!;
    // Not on `super(…)` itself: V8 evaluating a condition there runs the super call twice
    // ("Super constructor may only be called once") and the construction fails.
    const line = /^\s*super\(/.test(lines[i + 1] ?? "") ? i + 2 : i + 1;
    const condition = `(console.log(${JSON.stringify(MARK)}, ${JSON.stringify(name)}), false)`;
    await call("Debugger.setBreakpoint", {
      location: { scriptId: bundle.scriptId, lineNumber: line, columnNumber: 0 },
      condition,
    });
    methods.push(name);
  }
  if (!methods.includes("constructor")) throw new Error(`no constructor found in class ${className}`);

  return {
    methods,
    hits: () => ({ ...counts }),
    count: (method) => (Object.hasOwn(counts, method) ? counts[method]! : 0),
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    lost: () => lost,
    close: async () => {
      closing = true;
      try {
        await call("Debugger.disable");
      } catch {
        // The runtime is already gone.
      }
      socket.close();
    },
  };
}
