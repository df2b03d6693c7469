import { safeImageUrl } from "../safe-url";

/** A picture when the URL is a safe image URL, else the name's first letter. */
export function Avatar({ name, url, size = "md" }: { name: string; url?: string | undefined; size?: "sm" | "md" }) {
  const src = safeImageUrl(url);
  const initial = [...name.trim()][0]?.toUpperCase() ?? "?";
  return (
    <span class={`avatar avatar-${size}`} aria-hidden="true">
      {src ? <img src={src} alt="" referrerpolicy="no-referrer" loading="lazy" /> : initial}
    </span>
  );
}
