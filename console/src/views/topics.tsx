import type { Topic } from "../../../client/adapter";
import { ListRow } from "./list-row";

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
      {topics.map((topic, index) => (
        <ListRow
          key={topic.id}
          // Topic ids come from crawlers and may hold spaces; the place in the list does not.
          domId={`topic-${index}`}
          title={topic.title}
          avatar={topic.avatar}
          time={topic.lastMessageTime}
          tags={<span class="tag">{topic.kind === "work" ? "Work" : "DM"}</span>}
          text={topic.lastMessage}
          unread={topic.unreadCount}
          selected={topic.id === selected}
          onSelect={() => onSelect(topic.id)}
        />
      ))}
    </ul>
  );
}
