/** Times as the browser's locale writes them. */

const sameDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const otherDay = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/**
 * A short time: the clock time today, else date and time.
 * @example
 * shortTime(Date.now()) // "14:05" (en-GB) or "02:05 PM" (en-US)
 */
export function shortTime(millis: number): string {
  if (!Number.isFinite(millis) || millis <= 0) return "";
  const date = new Date(millis);
  return date.toDateString() === new Date().toDateString() ? sameDay.format(date) : otherDay.format(date);
}

/** The whole date and time, for a tooltip. */
export function fullTime(millis: number): string {
  if (!Number.isFinite(millis) || millis <= 0) return "";
  return full.format(new Date(millis));
}
