/**
 * How a push tells what is new or changed among its items: one SQLite lookup for many
 * messages, the rule for "unchanged", and how a changed item is merged with its stored row.
 */
import type { ValidItem } from "../../../contract/snapshot";
import { MAX_BOUND } from "../../../lib/row-buffer";

/** Merges a stored item with a newer one: fields the crawler left out keep their value. */
export function merge(stored: string | null, incoming: string): { json: string; value: Record<string, unknown> } {
  const next = JSON.parse(incoming) as Record<string, unknown>;
  if (!stored) return { json: incoming, value: next };
  const value = { ...(JSON.parse(stored) as Record<string, unknown>), ...next };
  return { json: JSON.stringify(value), value };
}

/** The stored row of an item, as far as "unchanged" needs it. */
export type StoredItem = { hash: string | null; ts: number; raw: string | null };

/**
 * Whether a stored item is left as it is: it has the incoming hash, or it came from a newer
 * snapshot than this push (`pushTimestamp`) and so keeps its newer field values.
 */
export function isUnchanged(
  hash: string | null,
  ts: number,
  hasRaw: boolean,
  item: ValidItem,
  pushTimestamp: number,
): boolean {
  if (hash === item.hash) return true;
  return hasRaw && pushTimestamp < ts;
}

/**
 * SQL for the rowid of the message whose platform id is `value` (an SQL expression). A row
 * stores its platform id only where it differs from the message's own id (a reply once sent);
 * a crawler's comment or DM is its platform id, so its column is null and its id is the key.
 */
export function rowidByPlatformId(value: string): string {
  return `COALESCE((SELECT rowid FROM messages WHERE platform_id = ${value}),
    (SELECT rowid FROM messages WHERE id = ${value} AND platform_id IS NULL AND kind <> 'reply'))`;
}

/** The platform id a message row stands for (null: a reply not sent yet). */
export const PLATFORM_ID = "CASE WHEN platform_id IS NULL AND kind <> 'reply' THEN id ELSE platform_id END";

/** The stored row of a message a push may have to write: [kind, hash, ts, has_raw], or kind null when there is none. */
export type MessageBrief = [kind: string | null, hash: string | null, ts: number | null, hasRaw: number];

/**
 * The items that are new or may have changed, by their place in `items`: SQLite compares
 * each item's hash with its stored row, so an unchanged item costs an index lookup and
 * nothing is read back for it. A stored row of another kind is returned whatever its hash
 * (it is rejected). A message moved to R2 (its key row in `archived`) is history that does not
 * change any more: it is never returned, unless it is of another kind. Rows come back by
 * position, not by id: an id is matched the way SQLite sees it (a lone UTF-16 surrogate does
 * not survive the trip), exactly as a lookup per item.
 */
export function storedCandidates(
  sql: SqlStorage,
  items: ValidItem[],
  kind: "comment" | "dm",
): (MessageBrief | undefined)[] {
  const found: (MessageBrief | undefined)[] = new Array(items.length);
  const perStatement = Math.floor((MAX_BOUND - 2) / 2);
  for (let start = 0; start < items.length; start += perStatement) {
    const chunk = items.slice(start, start + perStatement);
    const values: SqlStorageValue[] = [];
    for (const item of chunk) values.push(item.id, item.hash);
    const rows = sql
      .exec(
        `WITH incoming (i, platform_id, hash) AS (VALUES ${chunk.map((_, i) => `(${i}, ?, ?)`).join(", ")})
         SELECT incoming.i, COALESCE(m.kind, a.kind), m.hash, m.ts, m.raw IS NOT NULL
         FROM incoming LEFT JOIN messages AS m ON m.rowid = ${rowidByPlatformId("incoming.platform_id")}
           LEFT JOIN archived AS a ON m.rowid IS NULL AND a.platform_id = incoming.platform_id
         WHERE CASE
           WHEN m.rowid IS NOT NULL THEN m.hash IS NOT incoming.hash OR m.kind NOT IN (?, 'reply')
           WHEN a.seq IS NOT NULL THEN a.kind NOT IN (?, 'reply')
           ELSE 1 END`,
        ...values,
        kind,
        kind,
      )
      .raw<[number, ...MessageBrief]>();
    for (const [i, ...brief] of rows) found[start + i] = brief;
  }
  return found;
}
