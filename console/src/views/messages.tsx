import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { WireMessage } from "../../../client/adapter";
import { fullTime, isoTime, shortTime } from "../format";
import type { OutgoingReply, ReplyStatus } from "../model";
import { safeImageUrl, safeLinkUrl } from "../safe-url";
import { Avatar } from "./avatar";

/** Loads the previous page when the reader is this close to the top, in px. */
const LOAD_OLDER_WITHIN = 300;
/** Counts as "at the bottom" (so new messages scroll into view) within this many px. */
const STICK_WITHIN = 80;

function statusLabel(status: ReplyStatus): string {
  if (status.status === "pending" && status.stale) return "stale";
  return status.status;
}

function Body({ message }: { message: WireMessage }) {
  const [broken, setBroken] = useState(false);
  if (message.type === "image" && !broken) {
    const src = safeImageUrl(message.fileUrl ?? message.content);
    if (src)
      return (
        <img
          class="picture"
          src={src}
          alt={message.fileName ?? "image"}
          referrerpolicy="no-referrer"
          onError={() => setBroken(true)}
        />
      );
  }
  if (message.type === "video" || message.type === "file" || message.type === "image") {
    const href = safeLinkUrl(message.fileUrl ?? message.content);
    const label = message.fileName || message.content || message.fileUrl || message.type;
    if (href)
      return (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow">
          {label}
        </a>
      );
    return <span>{label}</span>;
  }
  return <span class="text">{message.content}</span>;
}

function MessageRow({ message, status }: { message: WireMessage; status: ReplyStatus | undefined }) {
  const outbound = message.direction === "out";
  const shown = status ?? (message.status ? { status: message.status } : undefined);
  return (
    <li class={`message ${outbound ? "out" : "in"}${message.type === "system" ? " system" : ""}`}>
      {!outbound && <Avatar name={message.fromName} url={message.fromAvatar} size="sm" />}
      <div class="bubble">
        <div class="meta">
          <span class="from">{message.fromName}</span>
          <time dateTime={isoTime(message.timestamp)} title={fullTime(message.timestamp)}>
            {shortTime(message.timestamp)}
          </time>
        </div>
        <Body message={message} />
        {outbound && shown && (
          <div class={`status status-${statusLabel(shown)}`} title={shown.error}>
            {statusLabel(shown)}
            {shown.error ? ` — ${shown.error}` : ""}
          </div>
        )}
      </div>
    </li>
  );
}

/**
 * The open topic: pages of older messages load as the reader nears the top (never the whole
 * history), new ones arrive at the bottom and scroll into view when the reader is there.
 */
export function MessagePane({
  messages,
  outgoing,
  statuses,
  hasOlder,
  loadingOlder,
  onLoadOlder,
}: {
  messages: WireMessage[];
  outgoing: OutgoingReply[];
  statuses: Map<string, ReplyStatus>;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  /** The list as the last render left it: its first message and its height. */
  const before = useRef({ first: "", height: 0 });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.id ?? "";
    const previous = before.current;
    // Where the reader is now (a scroll whose event has not fired yet included), measured
    // against the list as it was: any render may come before that event, so nothing read
    // from an earlier event decides whether to jump.
    const wasAtBottom = previous.height === 0 || previous.height - el.scrollTop - el.clientHeight <= STICK_WITHIN;
    if (previous.first && first !== previous.first && !wasAtBottom) {
      // Older messages were put above: keep what the reader was looking at in place.
      el.scrollTop += el.scrollHeight - previous.height;
    } else if (wasAtBottom && el.scrollHeight !== previous.height) {
      el.scrollTop = el.scrollHeight;
    }
    before.current = { first, height: el.scrollHeight };
    // A page that does not fill the pane leaves nothing to scroll: fetch the next one now.
    if (hasOlder && !loadingOlder && el.scrollHeight <= el.clientHeight) onLoadOlder();
  });

  function onScroll(): void {
    const el = scroller.current;
    if (el && el.scrollTop < LOAD_OLDER_WITHIN && hasOlder && !loadingOlder) onLoadOlder();
  }

  return (
    <div class="messages" ref={scroller} onScroll={onScroll} aria-label="Messages" role="log">
      <p class="history-edge">
        {loadingOlder
          ? "Loading older messages…"
          : hasOlder
            ? "Scroll up for older messages"
            : "Beginning of the topic"}
      </p>
      <ol class="message-list">
        {messages.map((message) => (
          <MessageRow key={message.id} message={message} status={statuses.get(message.id)} />
        ))}
        {outgoing.map((reply) => (
          <li key={reply.clientMsgId} class="message out">
            <div class="bubble">
              <span class="text">{reply.content}</span>
              <div class={`status status-${reply.error ? "failed" : "sending"}`}>
                {reply.error ? `not sent — ${reply.error}` : "sending"}
              </div>
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** The reply box: a textbox "Reply", sent with "Send" or Enter (Shift+Enter for a new line). */
export function ReplyBox({ onSend, disabled }: { onSend: (text: string) => void; disabled: boolean }) {
  const [text, setText] = useState("");
  function send(): void {
    if (!text.trim() || disabled) return;
    onSend(text);
    setText("");
  }
  return (
    <form
      class="reply"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label for="reply" class="visually-hidden">
        Reply
      </label>
      <textarea
        id="reply"
        rows={2}
        placeholder="Reply… (Enter sends, Shift+Enter for a new line)"
        value={text}
        disabled={disabled}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" disabled={disabled || !text.trim()}>
        Send
      </button>
    </form>
  );
}
