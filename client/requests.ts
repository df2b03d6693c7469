/**
 * Requests over a socket (PROTOCOL §6): each carries an `id`, its answer the same `id`;
 * an `error` frame with that `id` rejects it, silence rejects it after a timeout.
 */
import type { ErrorPayload, Issue } from "../src/contract/wire";

/**
 * An error the backend sent (`{type:"error", payload:{code, message, issues}}`, with the
 * codes of PROTOCOL §3) or one the adapter raises: `timeout`, `disconnected`,
 * `connect_failed`, `unknown_account` (a topic whose account it has not seen),
 * `invalid_argument`.
 * @example
 * try { await client.requestTopics("douyin-1") } catch (e) { if (e instanceof AdapterError) e.code }
 */
export class AdapterError extends Error {
  readonly code: string;
  readonly issues: Issue[] | undefined;
  readonly requestType: string | undefined;

  constructor(code: string, message: string, options: { issues?: Issue[]; requestType?: string } = {}) {
    super(message);
    this.name = "AdapterError";
    this.code = code;
    this.issues = options.issues;
    this.requestType = options.requestType;
  }
}

/**
 * A request that got no answer in time.
 * @example
 * await client.requestTopics("douyin-1").catch((e) => e instanceof RequestTimeoutError);
 */
export class RequestTimeoutError extends AdapterError {
  constructor(type: string, id: string, timeoutMs: number) {
    super("timeout", `${type} (request ${id}) got no answer within ${timeoutMs} ms`, { requestType: type });
    this.name = "RequestTimeoutError";
  }
}

/** The backend's `{ error: { code, message, issues? } }` (PROTOCOL §3) in a body's text, or null. */
export function errorInBody(text: string): ErrorPayload | null {
  try {
    const error = (JSON.parse(text) as { error?: ErrorPayload } | null)?.error;
    return typeof error?.code === "string" && typeof error.message === "string" ? error : null;
  } catch {
    return null; // Not the backend's JSON (a proxy's page).
  }
}

/** A frame as it comes off the wire, before it is known to be valid. */
export type IncomingFrame = { type: string; id?: string; payload?: unknown };

type Pending = {
  type: string;
  text: string;
  answers: readonly string[];
  /** Whether an answer without an `id` (a broadcast of the same thing) may settle it. */
  acceptBroadcast: boolean;
  resolve: (frame: IncomingFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
};

export type RequestOptions = {
  /** Frame types that answer it. */
  answers: readonly string[];
  /** Milliseconds, or null to wait as long as it takes (a queued reply). */
  timeoutMs: number | null;
  acceptBroadcast?: boolean;
  /** A fixed id, to keep one across restarts. */
  id?: string;
};

/**
 * The requests of one socket that wait for their answer.
 * @example
 * const { text, answer } = requests.create("monitor:request_topics", {}, { answers: ["monitor:topics"], timeoutMs: 15000 });
 * socket.send(text); const frame = await answer;
 */
export class PendingRequests {
  #pending = new Map<string, Pending>();
  #counter = 0;

  constructor(private readonly prefix: string) {}

  create(
    type: string,
    payload: object,
    options: RequestOptions,
  ): { id: string; text: string; answer: Promise<IncomingFrame> } {
    const id = options.id ?? `${this.prefix}${++this.#counter}`;
    const text = JSON.stringify({ type, id, payload });
    const answer = new Promise<IncomingFrame>((resolve, reject) => {
      const timer =
        options.timeoutMs === null
          ? undefined
          : setTimeout(() => {
              this.#pending.delete(id);
              reject(new RequestTimeoutError(type, id, options.timeoutMs!));
            }, options.timeoutMs);
      this.#pending.set(id, {
        type,
        text,
        answers: options.answers,
        acceptBroadcast: options.acceptBroadcast ?? false,
        resolve,
        reject,
        timer,
      });
    });
    return { id, text, answer };
  }

  /** The frames still waiting, to send again on a new socket (the old one's answers are gone). */
  texts(): string[] {
    return [...this.#pending.values()].map((pending) => pending.text);
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** The frame of a waiting request, to send it again. */
  text(id: string): string | undefined {
    return this.#pending.get(id)?.text;
  }

  /** The frames of the waiting requests of one type. */
  textsOf(type: string): string[] {
    return [...this.#pending.values()].filter((pending) => pending.type === type).map((pending) => pending.text);
  }

  /** Settles the request this frame answers; false when it answers none. */
  settle(frame: IncomingFrame): boolean {
    const id = frame.id ?? this.#broadcastMatch(frame.type);
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (id === undefined || !pending) return false;
    if (frame.type === "error") {
      const error = (frame.payload ?? {}) as Partial<ErrorPayload>;
      this.#finish(id, pending);
      const options: { issues?: Issue[]; requestType: string } = { requestType: pending.type };
      if (error.issues) options.issues = error.issues;
      pending.reject(new AdapterError(error.code ?? "internal", error.message ?? `${pending.type} failed`, options));
      return true;
    }
    if (!pending.answers.includes(frame.type)) return false;
    this.#finish(id, pending);
    pending.resolve(frame);
    return true;
  }

  /** Settles a request with a frame that answers it without its `id` (an event it caused). */
  resolve(id: string, frame: IncomingFrame): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#finish(id, pending);
    pending.resolve(frame);
  }

  /** The ids of the waiting requests of one type. */
  idsOf(type: string): string[] {
    return [...this.#pending].filter(([, pending]) => pending.type === type).map(([id]) => id);
  }

  /** Rejects one request (e.g. a reply the app gave up on). */
  cancel(id: string, error: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#finish(id, pending);
    pending.reject(error);
  }

  rejectAll(error: Error): void {
    for (const [id, pending] of [...this.#pending]) {
      this.#finish(id, pending);
      pending.reject(error);
    }
  }

  #broadcastMatch(type: string): string | undefined {
    for (const [id, pending] of this.#pending) {
      if (pending.acceptBroadcast && pending.answers.includes(type)) return id;
    }
    return undefined;
  }

  #finish(id: string, pending: Pending): void {
    clearTimeout(pending.timer);
    this.#pending.delete(id);
  }
}
