/**
 * Where the adapter remembers, per account, the last delivered `seq` (with its epoch)
 * and the replies not yet accepted, so neither is lost across reconnects or restarts.
 */
import type { QueuedReply } from "./replies";
import type { Position } from "./sequencer";
import type { SeqStorage } from "./types";

/**
 * A `SeqStorage` that lives as long as the process.
 * @example
 * const storage = memoryStorage(); storage.setItem("k", "v"); storage.getItem("k") // "v"
 */
export function memoryStorage(): SeqStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/**
 * `localStorage` when the runtime has one (Electron's renderer, a browser), else memory.
 * @example
 * const storage = defaultStorage();
 */
export function defaultStorage(): SeqStorage {
  try {
    const local = (globalThis as { localStorage?: SeqStorage }).localStorage;
    if (local && typeof local.getItem === "function") return local;
  } catch {
    // Reading localStorage throws in sandboxed frames; memory still works there.
  }
  return memoryStorage();
}

function readJson(storage: SeqStorage, key: string): unknown {
  try {
    const text = storage.getItem(key);
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The stored state of one account under `${prefix}:${tenant}:${accountId}`.
 * @example
 * const store = new AccountStore(memoryStorage(), "hiscrm-im:acme:douyin-1");
 * store.savePosition({ seq: 42, epoch: "e1" });
 */
export class AccountStore {
  constructor(
    private readonly storage: SeqStorage,
    private readonly key: string,
  ) {}

  loadPosition(): Position {
    const value = readJson(this.storage, `${this.key}:position`) as Partial<Position> | null;
    const seq = typeof value?.seq === "number" && Number.isInteger(value.seq) && value.seq >= 0 ? value.seq : null;
    const epoch = typeof value?.epoch === "string" ? value.epoch : null;
    return { seq, epoch };
  }

  savePosition(position: Position): void {
    this.#write(`${this.key}:position`, position);
  }

  loadOutbox(): QueuedReply[] {
    const value = readJson(this.storage, `${this.key}:outbox`);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (item): item is QueuedReply =>
        typeof item?.clientMsgId === "string" && typeof item.topicId === "string" && typeof item.content === "string",
    );
  }

  saveOutbox(replies: QueuedReply[]): void {
    if (replies.length === 0) {
      try {
        this.storage.removeItem(`${this.key}:outbox`);
      } catch {
        // A storage that cannot delete keeps an empty list instead.
        this.#write(`${this.key}:outbox`, []);
      }
      return;
    }
    this.#write(`${this.key}:outbox`, replies);
  }

  #write(key: string, value: unknown): void {
    try {
      this.storage.setItem(key, JSON.stringify(value));
    } catch {
      // A full or unavailable storage must not stop delivery; memory still holds the state.
    }
  }
}
