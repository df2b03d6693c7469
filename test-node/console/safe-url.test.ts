/** Which crawled URLs the console turns into links and images (PROTOCOL §12). */
import { describe, expect, it } from "vitest";
import { safeImageUrl, safeLinkUrl } from "../../console/src/safe-url";

const HOSTILE = [
  "javascript:alert(1)",
  " JavaScript:alert(1)",
  "java\nscript:alert(1)",
  "\u0001javascript:alert(1)",
  "vbscript:msgbox(1)",
  "data:text/html,<script>alert(1)</script>",
  "file:///etc/passwd",
  "blob:https://example.com/1",
  "/relative/path",
  "//example.com/protocol-relative",
  "x",
  "",
];

describe("safeLinkUrl", () => {
  it("keeps http and https URLs", () => {
    expect(safeLinkUrl("https://example.com/a?b=1#c")).toBe("https://example.com/a?b=1#c");
    expect(safeLinkUrl(" http://example.com ")).toBe("http://example.com/");
    expect(safeLinkUrl("https://例子.测试/路径")).toMatch(/^https:\/\/xn--/);
  });

  it("refuses every other scheme, relative URLs, data: URLs and non-strings", () => {
    for (const value of [...HOSTILE, "data:image/png;base64,AAAA"]) expect(safeLinkUrl(value), value).toBeUndefined();
    for (const value of [null, undefined, 42, {}, ["https://example.com"]]) expect(safeLinkUrl(value)).toBeUndefined();
  });
});

describe("safeImageUrl", () => {
  it("keeps https and data:image URLs", () => {
    expect(safeImageUrl("https://cdn.example.com/a.png")).toBe("https://cdn.example.com/a.png");
    expect(safeImageUrl("data:image/png;base64,iVBORw0KGgo=")).toBe("data:image/png;base64,iVBORw0KGgo=");
    expect(safeImageUrl("data:image/svg+xml,%3Csvg%3E")).toBe("data:image/svg+xml,%3Csvg%3E");
  });

  it("refuses plain http, scripts, other data: types, other schemes and non-strings", () => {
    for (const value of [
      ...HOSTILE,
      "data:image",
      "data:,hello",
      "data:application/javascript,alert(1)",
      "http://cdn.example.com/a.png",
      " HTTP://cdn.example.com/a.png",
    ])
      expect(safeImageUrl(value), value).toBeUndefined();
    expect(safeImageUrl(undefined)).toBeUndefined();
  });
});
