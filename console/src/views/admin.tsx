import { useEffect, useState } from "preact/hooks";
import type { Channel } from "../../../client/adapter";
import { shortTime } from "../format";
import type { ConsoleModel, LoginState } from "../model";
import { safeImageUrl } from "../safe-url";

const LOGIN_WORDS: Record<string, string> = {
  pending: "Waiting for the crawler to fetch a QR code…",
  waiting: "Scan the QR code with the account's app.",
  scanned: "Scanned: confirm the login in the app.",
  success: "Logged in.",
  failed: "The login failed.",
  expired: "The QR code expired: start again.",
};

/** Admin controls for one channel: enable, pin, rename, and the QR login. */
export function ChannelAdmin({
  model,
  channel,
  login,
}: {
  model: ConsoleModel;
  channel: Channel;
  login: LoginState | undefined;
}) {
  const [name, setName] = useState(channel.name);
  useEffect(() => setName(channel.name), [channel.id, channel.name]);
  const qr = login?.qr && safeImageUrl(login.qr.image);
  return (
    <details class="admin">
      <summary>Channel settings and QR login</summary>
      <div class="admin-row">
        <label>
          <input
            type="checkbox"
            checked={channel.enabled}
            onChange={(event) => void model.updateChannel(channel.id, { enabled: event.currentTarget.checked })}
          />
          Enabled
        </label>
        <label>
          <input
            type="checkbox"
            checked={channel.isPinned}
            onChange={(event) => void model.updateChannel(channel.id, { isPinned: event.currentTarget.checked })}
          />
          Pinned
        </label>
      </div>
      <form
        class="admin-row"
        onSubmit={(event) => {
          event.preventDefault();
          if (name.trim() && name.trim() !== channel.name) void model.updateChannel(channel.id, { name: name.trim() });
        }}
      >
        <label for="channel-name">Channel name</label>
        <input id="channel-name" value={name} maxLength={200} onInput={(event) => setName(event.currentTarget.value)} />
        <button type="submit" disabled={!name.trim() || name.trim() === channel.name}>
          Rename
        </button>
      </form>
      <section class="qr" aria-label="QR login">
        <button type="button" onClick={() => void model.startLogin(channel.id)}>
          Start QR login
        </button>
        {login?.status && (
          <p class={`login-status login-${login.status}`} role="status">
            {LOGIN_WORDS[login.status] ?? login.status}
            {login.error ? ` ${login.error}` : ""}
          </p>
        )}
        {qr && login?.qr && (
          <figure>
            <img src={qr} alt={`QR code to log in ${channel.name}`} width={180} height={180} />
            <figcaption>Expires {shortTime(login.qr.expiresAt)}</figcaption>
          </figure>
        )}
      </section>
    </details>
  );
}
