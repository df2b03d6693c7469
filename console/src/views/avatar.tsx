import { useState } from "preact/hooks";
import { safeImageUrl } from "../safe-url";

/** A picture when the URL is a safe image URL that loads, else the name's first letter. */
export function Avatar({ name, url, size = "md" }: { name: string; url?: string | undefined; size?: "sm" | "md" }) {
  const src = safeImageUrl(url);
  const [failed, setFailed] = useState<string | null>(null);
  const initial = [...name.trim()][0]?.toUpperCase() ?? "?";
  return (
    <span class={`avatar avatar-${size}`} aria-hidden="true">
      {src && failed !== src ? (
        <img src={src} alt="" referrerpolicy="no-referrer" loading="lazy" onError={() => setFailed(src)} />
      ) : (
        initial
      )}
    </span>
  );
}
