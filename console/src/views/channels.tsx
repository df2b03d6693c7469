import type { Channel } from "../../../client/adapter";
import { shortTime } from "../format";
import { Avatar } from "./avatar";

/**
 * What an agent must notice about an account's health (PROTOCOL §10): a crawler that is late
 * or gone, a session that is not logged in, an error. A healthy account shows nothing.
 */
export function healthTags({ health }: Channel): { text: string; title: string }[] {
  if (!health) return [];
  const seen = health.lastSeenAt === null ? "never" : new Date(health.lastSeenAt).toLocaleString();
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
      {channels.map((channel) => {
        const nameId = `channel-name-${channel.id}`;
        const infoId = `channel-info-${channel.id}`;
        return (
          <li key={channel.id}>
            <button
              type="button"
              class={`row${channel.id === selected ? " selected" : ""}${channel.enabled ? "" : " disabled"}`}
              aria-labelledby={nameId}
              aria-describedby={infoId}
              aria-current={channel.id === selected ? "true" : undefined}
              onClick={() => onSelect(channel.id)}
            >
              <Avatar name={channel.name} url={channel.avatar} />
              <span class="row-main">
                <span class="row-top">
                  <span class="row-title" id={nameId}>
                    {channel.name}
                  </span>
                  <time class="row-time">{shortTime(channel.lastMessageTime)}</time>
                </span>
                <span class="row-bottom" id={infoId}>
                  <span class="row-text">
                    {channel.isPinned && <span class="tag">Pinned</span>}
                    {!channel.enabled && <span class="tag">Disabled</span>}
                    {healthTags(channel).map((tag) => (
                      <span key={tag.text} class="tag warn" title={tag.title}>
                        {tag.text}
                      </span>
                    ))}
                    {channel.platform} · {channel.lastMessage}
                  </span>
                  {channel.unreadCount > 0 && (
                    <span class="badge" title={`${channel.unreadCount} unread`}>
                      {channel.unreadCount}
                      <span class="visually-hidden"> unread</span>
                    </span>
                  )}
                </span>
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
