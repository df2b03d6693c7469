/**
 * Every route that takes a body reads at most a known number of bytes of it (hono's
 * `bodyLimit`, which also counts a body sent without `Content-Length`); a larger body is
 * answered 413 `payload_too_large` naming the limit, before anything is parsed or stored.
 * The limits are listed in docs/OPERATIONS.md and SECURITY.md.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env";
import { ApiError } from "../contract/errors";

const KIB = 1024;

/** Bytes per route. */
export const BODY_LIMITS = {
  health: 16 * KIB,
  /** 2,000 characters at most (`MAX_REPLY_CHARS`): up to 6 bytes each as a JSON escape, and the other fields. */
  reply: 16 * KIB,
  commandResult: 16 * KIB,
  /** The image is at most 512 KiB of text (a `data:` URL), plus its JSON. */
  qrcode: 520 * KIB,
  loginStatus: 16 * KIB,
  channelPatch: 16 * KIB,
} as const;

/** 16384 → "16 KiB", 4194304 → "4 MiB", 12004 → "12004 bytes". */
export function bytesText(bytes: number): string {
  if (bytes % (KIB * KIB) === 0) return `${bytes / KIB / KIB} MiB`;
  if (bytes % KIB === 0) return `${bytes / KIB} KiB`;
  return `${bytes} bytes`;
}

/**
 * @param maxSize the limit in bytes, or a function of the request's settings
 * @param advice what the caller can do instead, appended to the message
 * @example
 * .post("/:accountId/health", limitBody(BODY_LIMITS.health), handler)
 */
export function limitBody(
  maxSize: number | ((c: Parameters<MiddlewareHandler<AppEnv>>[0]) => number),
  advice = "",
): MiddlewareHandler<AppEnv> {
  return async function limitedBody(c, next) {
    const limit = typeof maxSize === "number" ? maxSize : maxSize(c);
    return bodyLimit({
      maxSize: limit,
      onError: function tooLarge() {
        throw new ApiError("payload_too_large", `body is larger than ${bytesText(limit)}, this route's limit${advice}`);
      },
    })(c, next);
  };
}
