import type { ComponentChildren } from "preact";
import { shortTime } from "../format";
import { Avatar } from "./avatar";

/**
 * One row of the channel or topic list: a button named by its title (PROTOCOL §12), with an
 * avatar, the time of the last message, tags, the last message and the unread count.
 */
export function ListRow({
  domId,
  title,
  avatar,
  time,
  tags,
  text,
  unread,
  selected,
  dimmed = false,
  onSelect,
}: {
  /** Unique among the rows, safe in an id (no spaces: aria-labelledby would split it). */
  domId: string;
  title: string;
  avatar?: string;
  time: number;
  tags: ComponentChildren;
  text: string;
  unread: number;
  selected: boolean;
  dimmed?: boolean;
  onSelect: () => void;
}) {
  const titleId = `${domId}-title`;
  const infoId = `${domId}-info`;
  return (
    <li>
      <button
        type="button"
        class={`row${selected ? " selected" : ""}${dimmed ? " disabled" : ""}`}
        aria-labelledby={titleId}
        aria-describedby={infoId}
        aria-current={selected ? "true" : undefined}
        onClick={onSelect}
      >
        <Avatar name={title} url={avatar} />
        <span class="row-main">
          <span class="row-top">
            <span class="row-title" id={titleId}>
              {title}
            </span>
            <time class="row-time">{shortTime(time)}</time>
          </span>
          <span class="row-bottom" id={infoId}>
            <span class="row-text">
              {tags}
              {text}
            </span>
            {unread > 0 && (
              <span class="badge" title={`${unread} unread`}>
                {unread}
                <span class="visually-hidden"> unread</span>
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}
