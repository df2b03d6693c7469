import type { NotificationEvent } from "../../../client/adapter";
import { fullTime, shortTime } from "../format";

/** The accounts' notifications, newest first: the stored ones and those arriving while the list is open. */
export function Notifications({ items, onClose }: { items: NotificationEvent[]; onClose: () => void }) {
  return (
    <section class="notifications" aria-label="Notifications">
      <header>
        <h2>Notifications</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      {items.length === 0 ? (
        <p class="empty">No notifications yet. New ones appear here as they arrive.</p>
      ) : (
        <ul>
          {items.map(({ accountId, notification }) => (
            <li key={`${accountId}:${notification.id}`}>
              <div class="meta">
                <span class="from">{notification.title || notification.type}</span>
                <time title={fullTime(notification.timestamp)}>{shortTime(notification.timestamp)}</time>
              </div>
              <p class="text">{notification.content}</p>
              <p class="hint">{accountId}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
