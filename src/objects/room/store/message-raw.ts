/**
 * A message's item as the crawler sent it (`messages.raw`), stored without what its Message
 * already holds. Most of a comment's bytes are its content, author name, avatar and ids, and
 * the message row keeps each of them in its body; the raw item keeps a two-character mark in
 * their place. The raw item is read back only to merge an update into it, always beside the
 * body it was stored with, and comes back as the very text it was.
 */
import type { Message } from "../../../contract/schemas";

/** The Message fields a raw value may stand for; a mark is `@` and the field's place here. */
const FIELDS = ["content", "fromAvatar", "fromName", "id", "topicId", "fromId", "fileUrl", "fileName"] as const;
const MARK = /^@[0-9]$/;
/** What starts a raw item stored with marks; a whole one is a JSON object and starts with `{`. */
const PACKED = "~";

/**
 * `raw` (the item's JSON, as `JSON.stringify` wrote it) with each top-level string value that
 * equals one of `message`'s fields replaced by its mark. Returns `raw` itself when nothing is
 * saved, or when a value already looks like a mark (it could not be told apart).
 */
export function packRaw(raw: string, message: Message): string {
  const item = JSON.parse(raw) as Record<string, unknown>;
  let saved = 0;
  for (const [key, value] of Object.entries(item)) {
    if (typeof value !== "string") continue;
    if (MARK.test(value)) return raw;
    if (value.length <= 2) continue;
    const field = FIELDS.findIndex((name) => message[name] === value);
    if (field < 0) continue;
    item[key] = `@${field}`;
    saved += value.length;
  }
  return saved ? PACKED + JSON.stringify(item) : raw;
}

/** The raw item as it was sent, from what `packRaw` stored and the body stored with it. */
export function unpackRaw(stored: string | null, message: Message): string | null {
  if (stored === null || !stored.startsWith(PACKED)) return stored;
  const item = JSON.parse(stored.slice(PACKED.length)) as Record<string, unknown>;
  for (const [key, value] of Object.entries(item)) {
    if (typeof value === "string" && MARK.test(value)) item[key] = message[FIELDS[Number(value[1])]!];
  }
  return JSON.stringify(item);
}
