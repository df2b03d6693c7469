import type { State } from "../model";

/** Says when the console is not live: connecting, reconnecting, or a history that was reset. */
export function ConnectionBanner({ state, onDismissResets }: { state: State; onDismissResets: () => void }) {
  const reconnecting = [...state.accounts].filter(([, s]) => s === "reconnecting").map(([id]) => id);
  let line: string | null = null;
  let tone = "info";
  if (state.directory === "connecting") line = "Connecting…";
  else if (state.directory === "reconnecting" || state.directory === "closed") {
    line = "Reconnecting… messages will catch up when the connection is back.";
    tone = "warn";
  } else if (reconnecting.length > 0) {
    line = `Reconnecting to ${reconnecting.join(", ")}…`;
    tone = "warn";
  }
  return (
    <div class="banners" role="status" aria-live="polite">
      {line && <p class={`banner banner-${tone}`}>{line}</p>}
      {state.resets.length > 0 && (
        <p class="banner banner-warn">
          History reset for {state.resets.join(", ")}: the backend could not replay what was missed, so it was reloaded.{" "}
          <button type="button" class="link" onClick={onDismissResets}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}
