/**
 * The socket.io-style low-level listeners of the seeds/000 `WebSocketService`: callbacks by
 * frame type, each given the frame's payload.
 */
import type { IncomingFrame } from "./requests";

// The seeds/000 signature: app code written against it reads the payload's fields without a
// cast, so `unknown` would break it on the swap.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FrameCallback = (data: any) => void;

type Entry = { callback: FrameCallback };

/**
 * @example
 * const listeners = new FrameListeners();
 * listeners.on("status_change", (data) => console.log(data.clientId));
 * listeners.emit({ type: "status_change", payload: { clientId: "desk-1" } });
 * listeners.off("status_change");
 */
export class FrameListeners {
  #byType = new Map<string, Entry[]>();

  /** Adds a callback for frames of `type`; the same function added twice is called twice. */
  on(type: string, callback: FrameCallback): () => void {
    const entry = { callback };
    this.#byType.set(type, [...(this.#byType.get(type) ?? []), entry]);
    return () => this.#remove(type, (e) => e === entry);
  }

  /** Removes every callback of `type`, or (with `callback`) its first registration. */
  off(type: string, callback?: FrameCallback): void {
    if (callback === undefined) this.#byType.delete(type);
    else this.#remove(type, (e) => e.callback === callback);
  }

  emit(frame: IncomingFrame): void {
    for (const { callback } of this.#byType.get(frame.type) ?? []) {
      try {
        callback(frame.payload);
      } catch (error) {
        // The app's bug must not cost the next listener its frame, nor the adapter its position.
        console.error(`[hiscrm-im] on("${frame.type}") listener failed:`, error);
      }
    }
  }

  #remove(type: string, match: (entry: Entry) => boolean): void {
    const entries = this.#byType.get(type);
    const index = entries?.findIndex(match) ?? -1;
    if (!entries || index < 0) return;
    const rest = entries.filter((_, i) => i !== index);
    if (rest.length) this.#byType.set(type, rest);
    else this.#byType.delete(type);
  }
}
