/**
 * Which URLs from crawled content may become a link or an image (PROTOCOL §12): `http:` and
 * `https:` for a link; `https:` and `data:image/…` for an image, which loads without a click
 * (never `http:`, which anyone on the way can read and replace; the CSP's `img-src` says the
 * same). Anything else (`javascript:`, `vbscript:`, `data:text/html`, relative paths) is
 * shown as text or not at all.
 */

const LINK_PROTOCOLS: ReadonlySet<string> = new Set(["http:", "https:"]);
const IMAGE_PROTOCOLS: ReadonlySet<string> = new Set(["https:"]);
const DATA_IMAGE = /^data:image\/[a-z0-9.+-]+[;,]/i;

function webUrl(value: string, protocols: ReadonlySet<string>): string | undefined {
  try {
    const url = new URL(value);
    return protocols.has(url.protocol) ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An `href` for a link, or undefined.
 * @example
 * safeLinkUrl("https://example.com/a") // "https://example.com/a"
 * safeLinkUrl("javascript:alert(1)")   // undefined
 */
export function safeLinkUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return webUrl(value.trim(), LINK_PROTOCOLS);
}

/**
 * A `src` for an image, or undefined.
 * @example
 * safeImageUrl("data:image/png;base64,iVBOR…") // the same string
 * safeImageUrl("data:text/html,<script>")      // undefined
 */
export function safeImageUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (DATA_IMAGE.test(trimmed)) return trimmed;
  return webUrl(trimmed, IMAGE_PROTOCOLS);
}
