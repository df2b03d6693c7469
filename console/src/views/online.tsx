import type { PresenceListEvent } from "../../../client/adapter";

/** Who is watching the channel now: each person once, however many devices they use. */
export function OnlineNow({ presence }: { presence: PresenceListEvent | undefined }) {
  if (!presence) return null;
  const people = [...new Set(presence.online.map((client) => client.userId))].sort();
  const more = presence.onlineTotal - presence.online.length;
  return (
    <p class="hint online" aria-label="Online now">
      Online now: {people.join(", ")}
      {more > 0 && ` and ${more} more`}
    </p>
  );
}
