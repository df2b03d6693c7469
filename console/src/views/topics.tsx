import type { Topic } from "../../../client/adapter";
import { shortTime } from "../format";
import { Avatar } from "./avatar";

/** A channel's topics (works and conversations), newest first, with their unread counts. */
export function TopicList({
  topics,
  loading,
  selected,
  onSelect,
}: {
  topics: Topic[];
  loading: boolean;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  if (loading) return <p class="empty">Loading topics…</p>;
  if (topics.length === 0) return <p class="empty">No topics in this channel yet.</p>;
  return (
    <ul class="list" aria-label="Topics">
      {topics.map((topic, index) => {
        // Topic ids come from crawlers and may hold spaces, which aria-labelledby would split.
        const titleId = `topic-title-${index}`;
        const infoId = `topic-info-${index}`;
        return (
          <li key={topic.id}>
            <button
              type="button"
              class={`row${topic.id === selected ? " selected" : ""}`}
              aria-labelledby={titleId}
              aria-describedby={infoId}
              aria-current={topic.id === selected ? "true" : undefined}
              onClick={() => onSelect(topic.id)}
            >
              <Avatar name={topic.title} url={topic.avatar} />
              <span class="row-main">
                <span class="row-top">
                  <span class="row-title" id={titleId}>
                    {topic.title}
                  </span>
                  <time class="row-time">{shortTime(topic.lastMessageTime)}</time>
                </span>
                <span class="row-bottom" id={infoId}>
                  <span class="row-text">
                    <span class="tag">{topic.kind === "work" ? "Work" : "DM"}</span>
                    {topic.lastMessage}
                  </span>
                  {topic.unreadCount > 0 && (
                    <span class="badge">
                      {topic.unreadCount}
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
