/**
 * The opaque cursor of a list paged newest first by (time, id) — the topic list today
 * (PROTOCOL §6.2, §8): base64url of the JSON `[time, id]` of the last item a page held. A
 * client hands it back as it got it; the server reads nothing else from it.
 */
import { z } from "zod";

/** Where a page stopped: the next page starts after this (time, id). */
export type PageKey = { time: number; id: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The cursor for the page after `key`. */
export function encodeCursor(key: PageKey): string {
  // JSON.stringify escapes a lone surrogate, so the text is well-formed and round-trips.
  let binary = "";
  for (const byte of encoder.encode(JSON.stringify([key.time, key.id]))) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key a cursor holds, or null when it is not one this server gave. */
export function decodeCursor(cursor: string): PageKey | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const key: unknown = JSON.parse(decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(key) || key.length !== 2) return null;
    const [time, id] = key as unknown[];
    return Number.isSafeInteger(time) && typeof id === "string" ? { time: time as number, id } : null;
  } catch {
    return null;
  }
}

/**
 * The longest cursor this server gives: an id of 256 UTF-16 units that JSON escapes six
 * characters each (`\u0001`, a lone surrogate), with its time, in base64url, is ~2,100.
 */
export const MAX_CURSOR_CHARS = 4096;

/** A `cursor` field: the key it holds, or an issue naming the field. */
export const cursorSchema = z
  .string()
  .max(MAX_CURSOR_CHARS)
  .transform((cursor, ctx) => {
    const key = decodeCursor(cursor);
    if (!key) {
      ctx.addIssue({ code: "custom", message: "is not a cursor this list gave (pass nextCursor as it came)" });
      return z.NEVER;
    }
    return key;
  });
