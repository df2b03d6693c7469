/**
 * A validated push on its way from the Worker to its AccountRoom: packed so that any body
 * within the push limit fits the one call, and unpacked on the other side.
 */
import { ApiError } from "./errors";
import { ITEM_KINDS } from "./snapshot";
import type { ItemKind, ParsedPush, ValidItem } from "./snapshot";

/**
 * What the account's object needs of a push: the valid items, and only the number of those
 * the Worker rejected (it answers with its own rejections merged with the object's).
 */
export type RoomPush = Omit<ParsedPush, "rejected"> & { rejectedCount: number };

/**
 * A push as it travels from the Worker to its AccountRoom. Strings would cross at two bytes
 * a character as soon as any character is above U+00FF (Chinese text), and every item as an
 * object costs its keys again; so every item's JSON, id and hash go one after another into
 * one text, sent as UTF-8, and each item is four numbers: its index in the snapshot and where
 * its JSON, id and hash end in the decoded text (UTF-16 code units, counted across kinds).
 * A body within the push limit (at most 4 MiB) always fits the call this way.
 */
export type PackedPush = Omit<RoomPush, "items"> & {
  text: Uint8Array;
  items: Record<ItemKind, Uint32Array>;
};

/** What one call from the Worker to a Durable Object may carry; a larger one fails inside the call as a 500. */
const MAX_RPC_BYTES = 32 * 1024 * 1024;
/** Room left for the rest of the push (account fields, counts) and serialisation overhead. */
const RPC_MARGIN = 512 * 1024;

/**
 * Packs a parsed push for the call to its AccountRoom. Throws `payload_too_large` (413) when
 * even packed it cannot cross in one call, which no allowed body limit reaches (the cap is 4 MiB).
 */
export function packPush({ rejected, ...push }: ParsedPush): PackedPush {
  const parts: string[] = [];
  let end = 0;
  const items = {} as Record<ItemKind, Uint32Array>;
  for (const kind of ITEM_KINDS) {
    const list = push.items[kind];
    const offsets = new Uint32Array(list.length * 4);
    list.forEach((item, i) => {
      parts.push(item.json, item.id, item.hash);
      offsets[i * 4] = item.index;
      offsets[i * 4 + 1] = end += item.json.length;
      offsets[i * 4 + 2] = end += item.id.length;
      offsets[i * 4 + 3] = end += item.hash.length;
    });
    items[kind] = offsets;
  }
  const text = new TextEncoder().encode(parts.join(""));
  const bytes = text.byteLength + ITEM_KINDS.reduce((sum, kind) => sum + items[kind].byteLength, 0);
  if (bytes > MAX_RPC_BYTES - RPC_MARGIN) {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    throw new ApiError(
      "payload_too_large",
      `the snapshot's valid items come to about ${mib(bytes)} MiB, more than the ${mib(MAX_RPC_BYTES - RPC_MARGIN)} MiB ` +
        "one push can hand to the account's object; split it into smaller pushes",
    );
  }
  return { ...push, rejectedCount: rejected.length, text, items };
}

/** The inverse of `packPush`, in the AccountRoom. */
export function unpackPush({ text, items, ...push }: PackedPush): RoomPush {
  const decoded = new TextDecoder().decode(text);
  const unpacked = {} as Record<ItemKind, ValidItem[]>;
  let start = 0;
  for (const kind of ITEM_KINDS) {
    const offsets = items[kind];
    const list: ValidItem[] = [];
    for (let i = 0; i < offsets.length; i += 4) {
      const [index, jsonEnd, idEnd, hashEnd] = [offsets[i]!, offsets[i + 1]!, offsets[i + 2]!, offsets[i + 3]!];
      list.push({
        index,
        json: decoded.slice(start, jsonEnd),
        id: decoded.slice(jsonEnd, idEnd),
        hash: decoded.slice(idEnd, hashEnd),
      });
      start = hashEnd;
    }
    unpacked[kind] = list;
  }
  return { ...push, items: unpacked };
}
