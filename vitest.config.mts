import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const wrangler = { configPath: "./wrangler.toml" };
// vitest's default 5 s is too tight on a busy 2-core machine: tests that make a dozen
// requests took 4–5.5 s there.
const testTimeout = 20_000;

// Tests that run inside workerd, against the real Worker and Durable Objects.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ wrangler })],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/limits/**"], testTimeout },
      },
      {
        // The same Worker with small limits, so the limits can be reached in a test.
        plugins: [
          cloudflareTest({
            wrangler,
            miniflare: {
              bindings: {
                PUSHES_PER_MINUTE: "6",
                FRAMES_PER_SECOND: "5",
                CONNECTS_PER_MINUTE: "4",
                MAX_SOCKETS_PER_OBJECT: "6",
                MAX_SOCKETS_PER_TOKEN: "3",
                MAX_PUSH_BYTES: "65536",
                MAX_FRAME_BYTES: "4096",
              },
            },
          }),
        ],
        test: { name: "limits", include: ["test/limits/**/*.test.ts"], testTimeout },
      },
    ],
  },
});
