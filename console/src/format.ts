/**
 * Times as the browser's locale writes them. Every function here takes any number and never
 * throws: a time of 0 (or none) is unknown and shows as nothing, and one no date can hold (past
 * ±8.64e15 ms, NaN) shows as "—", so one bad time from a crawler cannot blank a list.
 */

const sameDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const otherDay = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/**
 * A short time: the clock time today, else date and time.
 * @example
 * shortTime(Date.now()) // "14:05" (en-GB) or "02:05 PM" (en-US)
 */
export function shortTime(millis: number): string {
  const date = dateOf(millis);
  if (typeof date === "string") return date;
  return date.toDateString() === new Date().toDateString() ? sameDay.format(date) : otherDay.format(date);
}

/** The whole date and time, for a tooltip. */
export function fullTime(millis: number): string {
  const date = dateOf(millis);
  return typeof date === "string" ? date : full.format(date);
}

/** The date and time as the locale writes them in full, or "never" for no time. */
export function localTime(millis: number | null): string {
  if (millis === null) return "never";
  const date = dateOf(millis);
  return typeof date === "string" ? date || "never" : date.toLocaleString();
}

/** A `<time dateTime>` value (ISO 8601), or undefined when there is none to give. */
export function isoTime(millis: number): string | undefined {
  const date = dateOf(millis);
  return typeof date === "string" ? undefined : date.toISOString();
}

/** The Date for `millis`, or what to show instead: "" for an unknown time, "—" for one no date holds. */
function dateOf(millis: unknown): Date | string {
  if (typeof millis !== "number" || millis === 0) return "";
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) || millis < 0 ? "—" : date;
}
