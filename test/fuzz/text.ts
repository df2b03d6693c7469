/**
 * Generated text: SQL-looking, Unicode edge cases, binary and lone surrogates; strings at and
 * past the field limits; values nested deeper than JSON.stringify reaches.
 */
import fc from "fast-check";
import type { Obj } from "./expect";

const SQLISH = [
  "'); DROP TABLE messages;--",
  "Robert'); DROP TABLE students;--",
  '" OR "1"="1',
  "1; DELETE FROM topics WHERE 1=1; --",
  "' UNION SELECT tenant, epoch FROM account --",
  "'; UPDATE account SET seq = 0; --",
  "%s%s%n%x",
  "${7*7}{{7*7}}",
  "<script>alert(1)</script>",
  "\\",
  "\\u0000",
  "null",
  "NULL",
  "undefined",
  "[object Object]",
  "__proto__",
];
const UNICODE = [
  "👨‍👩‍👧‍👦",
  "🇨🇳🏳️‍🌈",
  "😀",
  "مرحبا بالعالم",
  "שלום עולם",
  "\u202Egnp.exe",
  "\u200F\u200E",
  "\u200B\u200C\u200D\uFEFF",
  "e\u0301\u0308",
  "漢字かなカナ한국어",
  "\u0000",
  "\r\n\t",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻̓",
  " ",
  "\u2028\u2029",
  "\uFFFD",
  "\uDBFF\uDFFF",
];
/** Lone surrogates, kept apart from other text: validated fields refuse them. */
export const LONE = ["\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D"];

const piece = (lone: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...SQLISH), weight: 2 },
    { arbitrary: fc.constantFrom(...UNICODE), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 6 }), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 4 }), weight: 1 },
    { arbitrary: fc.string({ maxLength: 8 }), weight: 2 },
    { arbitrary: fc.constantFrom(...LONE), weight: lone ? 1 : 0 },
  );
const textOf = (lone: boolean) => fc.array(piece(lone), { maxLength: 4 }).map((parts) => parts.join(""));
/**
 * Well-formed Unicode: what every validated item field holds (the backend rejects lone
 * surrogates there, naming the field; lone-surrogates.test.ts has their own property). `anyText` may hold lone
 * surrogates: unknown fields keep them exactly, escaped in the stored JSON.
 */
export const cleanText = textOf(false);
export const anyText = textOf(true);

/**
 * One code point each (field limits count code points), JSON-encoding to at most two UTF-16
 * units, so a field at its limit stays far below the item limit.
 */
export const FILL = ["a", "漢", "😀", '"', "\\", "é", "\u200F"];

/** A string of `size` code points, built when sent; printed short in a counterexample. */
export class Sized {
  constructor(
    readonly size: number,
    readonly fill: string,
  ) {}
  toJSON(): string {
    return this.fill.repeat(this.size);
  }
  [fc.toStringMethod](): string {
    return `Sized(${this.size} × ${JSON.stringify(this.fill)})`;
  }
}
export const sized = (size: number, fill: string) => new Sized(size, fill).toJSON();

/** An array or object nested `depth` deep; printed short in a counterexample. */
export class Nested {
  constructor(
    readonly depth: number,
    readonly object: boolean,
  ) {}
  toJSON(): unknown {
    let value: unknown = "bottom";
    for (let i = 0; i < this.depth; i++) value = this.object ? { d: value } : [value];
    return value;
  }
  [fc.toStringMethod](): string {
    return `Nested(${this.depth}, ${this.object ? "objects" : "arrays"})`;
  }
}

/** Generated values with their big strings built (nested values stay lazy: JSON.stringify builds them). */
export function resolve(value: unknown): unknown {
  if (value instanceof Sized) return value.toJSON();
  if (value instanceof Nested) return value;
  if (Array.isArray(value)) return value.map(resolve);
  if (value && typeof value === "object") {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) define(out, k, resolve(v));
    return out;
  }
  return value;
}

/** At most `units` UTF-16 units, never splitting a surrogate pair. */
export function clip(text: string, units: number): string {
  let out = "";
  for (const ch of text) {
    if (out.length + ch.length > units) break;
    out += ch;
  }
  return out;
}

/** The backend's field limits. */
export const NAME = 1_024;
export const URL_MAX = 4_096;
export const TITLE = 4 * NAME;
export const ID_MAX = 256;

/** Sets an own key, `__proto__` included, the way JSON.parse makes it. */
export function define(target: Obj, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
export const hasLoneSurrogate = (s: string) =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** Text that JSON.parse refuses. */
export const notJson = fc
  .oneof(
    fc.string(),
    anyText,
    fc.constantFrom(
      "{oops",
      "{'accountId': 'x'}",
      '{"accountId":',
      "undefined",
      "NaN",
      "[1,]",
      '{"a":1,}',
      "\uFEFF",
      "",
      " ",
    ),
  )
  .filter((text) => {
    try {
      // A leading byte order mark is dropped when the body is decoded.
      JSON.parse(text.replace(/^\uFEFF/, ""));
      return false;
    } catch {
      return true;
    }
  });
