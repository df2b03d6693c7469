import type { Channel } from "../../../client/adapter";
import { localTime } from "../format";
import { ListRow } from "./list-row";

/**
 * What an agent must notice about an account's health (PROTOCOL §10): a crawler that is late
 * or gone, a session that is not logged in, an error, storage nearing its ceiling. A healthy
 * account shows nothing.
 */
export function healthTags({ health }: Channel): { text: string; title: string }[] {
  if (!health) return [];
  const seen = localTime(health.lastSeenAt);
  const tags: { text: string; title: string }[] = [];
  if (health.crawler === "late" || health.crawler === "offline") {
    tags.push({ text: `Crawler ${health.crawler}`, title: `last sign of life: ${seen}` });
  }
  if (health.login === "logged_out" || health.login === "expired") {
    tags.push({
      text: health.login === "expired" ? "Login expired" : "Logged out",
      title: "an admin can start a QR login",
    });
  }
  if (health.error) tags.push({ text: "Crawler error", title: health.error });
  if (health.storage === "high" || health.storage === "full") {
    tags.push({
      text: health.storage === "full" ? "Storage full" : "Storage high",
      title:
        health.storage === "full"
          ? "past 95 % of the 10 GB an account holds: pushes may start failing"
          : "the account's storage is past the operator's warning share of 10 GB",
    });
  }
  return tags;
}

/** The channel list: pinned first, then the newest message first (the Directory's order). */
export function ChannelList({
  channels,
  selected,
  onSelect,
}: {
  channels: Channel[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  if (channels.length === 0) return <p class="empty">No channels yet: a crawler has not pushed any account.</p>;
  return (
    <ul class="list" aria-label="Channels">
      {channels.map((channel) => (
        <ListRow
          key={channel.id}
          domId={`channel-${channel.id}`}
          title={channel.name}
          avatar={channel.avatar}
          time={channel.lastMessageTime}
          tags={
            <>
              {channel.isPinned && <span class="tag">Pinned</span>}
              {!channel.enabled && <span class="tag">Disabled</span>}
              {healthTags(channel).map((tag) => (
                <span key={tag.text} class="tag warn" title={tag.title}>
                  {tag.text}
                </span>
              ))}
            </>
          }
          text={`${channel.platform} · ${channel.lastMessage}`}
          unread={channel.unreadCount}
          selected={channel.id === selected}
          dimmed={!channel.enabled}
          onSelect={() => onSelect(channel.id)}
        />
      ))}
    </ul>
  );
}
