/**
 * Values of the snapshot items' fields: valid ones (at the limits too), invalid ones (each
 * definitely rejected), and unknown extra fields of any shape.
 */
import fc from "fast-check";
import { cleanText, anyText, clip, FILL, ID_MAX, Nested, NAME, Sized, URL_MAX } from "./text";

const DEEP_MAX = 2_000;

/** The key of an unknown field: names of Object.prototype members among them. */
export const extraKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "x_nested"),
  fc.string({ maxLength: 12 }).map((s) => `x_${s}`),
);
/** The value of an unknown field, kept exactly as sent: any JSON, any text, deep nesting. */
export const extraValue = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: anyText, weight: 2 },
  {
    arbitrary: fc
      .record({ depth: fc.integer({ min: 10, max: DEEP_MAX }), object: fc.boolean() })
      .map((d) => new Nested(d.depth, d.object)),
    weight: 1,
  },
);
/** An item's unknown fields. */
export const extras = fc.array(fc.tuple(extraKey, extraValue), { maxLength: 3 });

// Valid values
/** An id that may be absent: text, a number (kept as a string), or null. */
export const optionalId = fc.oneof(
  cleanText.filter((s) => s.length >= 1 && s.length <= ID_MAX),
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.constantFrom(null, 0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);
/** The range the backend takes an item time in: from 2000-01-01 to now (it allows a day ahead of its clock). */
const EARLIEST_SECONDS = 946_684_800;
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** Seconds or milliseconds (from 10^12 on) in that range, as numbers or digit strings; 0 or null for unknown. */
export const time = fc.oneof(
  fc.integer({ min: EARLIEST_SECONDS, max: nowSeconds() }),
  fc.integer({ min: 1e12, max: nowSeconds() * 1000 }),
  fc.double({ min: EARLIEST_SECONDS, max: nowSeconds(), noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, EARLIEST_SECONDS, 999_999_999, 1e12, null),
  fc.integer({ min: EARLIEST_SECONDS, max: nowSeconds() }).map(String),
  fc.integer({ min: 1e12, max: nowSeconds() * 1000 }).map(String),
);
export const count = fc.oneof(
  fc.nat(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, null),
  fc.stringMatching(/^\d{1,15}$/),
);
const atLimit = (max: number) => fc.constantFrom(...FILL).map((fill) => new Sized(max, fill));
/** An optional text field: generated text clipped to its limit, empty, null, or exactly at the limit. */
export const text = (max: number) =>
  fc.oneof(
    { arbitrary: cleanText.map((s) => clip(s, max)), weight: 30 },
    { arbitrary: fc.constantFrom(null, ""), weight: 5 },
    { arbitrary: atLimit(max), weight: 1 },
  );
/** A required text field: generated text, empty, or exactly at its limit. */
export const requiredText = (max: number) =>
  fc.oneof(
    { arbitrary: cleanText, weight: 30 },
    { arbitrary: fc.constant(""), weight: 2 },
    { arbitrary: atLimit(max), weight: 1 },
  );
/** A sender or participant object. */
export const user = () =>
  fc.oneof(
    {
      arbitrary: fc.record({ user_id: optionalId, user_name: text(NAME), avatar: text(URL_MAX) }, { requiredKeys: [] }),
      weight: 5,
    },
    { arbitrary: fc.constant(null), weight: 1 },
  );
/** A platform msg_type; names of Object.prototype members have their own property in msg-type.test.ts. */
export const msgType = fc
  .oneof(
    fc.constantFrom(
      "text",
      "image",
      "IMAGE",
      "Picture",
      "video",
      "file",
      "audio",
      "voice",
      "system",
      "notice",
      "emoji",
      "sticker",
      "toString",
      "valueOf",
      null,
    ),
    cleanText.map((s) => clip(s, 32)),
  )
  .filter((t) => t === null || !(t.toLowerCase() in {}));

// Invalid values, each definitely rejected
const over = (max: number) => fc.constantFrom(...FILL).map((fill) => new Sized(max + 1, fill));
export const badOptionalId = fc.oneof(
  fc.constantFrom("", 1.5, -0.25, true, {}, [], 2 ** 53, -(2 ** 53), 1e300),
  over(ID_MAX),
);
export const badRequiredId = fc.oneof(badOptionalId, fc.constant(null));
export const badText = (max: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(5, 0, true, false, {}, [], ["text"]), weight: 3 },
    { arbitrary: over(max), weight: 1 },
  );
export const badRequiredText = (max: number) => fc.oneof(badText(max), fc.constant(null));
export const badTime = fc.constantFrom(
  -1,
  -1e-9,
  // Numbers, but before 2000 or far ahead: seconds of 1970, microseconds, past any date.
  1,
  EARLIEST_SECONDS - 1,
  999_999_999_999,
  1.7e15,
  9e15,
  1.7e308,
  Number.MAX_SAFE_INTEGER,
  "9999999999999999",
  "12abc",
  "",
  "1e10",
  "1.5",
  "-5",
  " 5",
  "12345678901234567",
  true,
  {},
  [],
);
export const badCount = fc.constantFrom(-1, 1.5, "abc", "", "-1", "1.5", "1234567890123456", 2 ** 53, true, {}, []);
export const badDirection = fc.constantFrom("IN", "sideways", "", 1, true, {}, []);
/** A bad user object and the path suffix its issue names. */
export const badUser: fc.Arbitrary<[unknown, string]> = fc.oneof(
  fc.constantFrom<[unknown, string]>(["x", ""], [[], ""], [5, ""], [true, ""]),
  badOptionalId.map((v): [unknown, string] => [{ user_id: v }, ".user_id"]),
  badText(NAME).map((v): [unknown, string] => [{ user_name: v }, ".user_name"]),
  badText(URL_MAX).map((v): [unknown, string] => [{ avatar: v }, ".avatar"]),
);
export const badStats: fc.Arbitrary<[unknown, string]> = fc.oneof(
  fc.constantFrom<[unknown, string]>(["x", ""], [[], ""], [7, ""]),
  badCount.map((v): [unknown, string] => [{ comment_count: v }, ".comment_count"]),
  badCount.map((v): [unknown, string] => [{ like_count: v }, ".like_count"]),
);
/** What replaces a whole item. */
export const notAnObject = fc.constantFrom("item", 5, null, true, [], [{ comment_id: "x" }], "");
