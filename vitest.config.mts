import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The tests run [env.development], as `npm start` does; the top level is production.
const wrangler = { configPath: "./wrangler.toml", environment: "development" };
// A test here takes well under a second alone; on a busy 2-core machine (CI, or a
// developer's running wrangler and a browser) the same test can take several.
const testTimeout = 30_000;

// Tests that run inside workerd, against the real Worker and Durable Objects.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ wrangler })],
        test: {
          name: "workers",
          testTimeout,
          // Tests of one module sit beside it in src/; the rest are in test/.
          include: ["test/**/*.test.ts", "src/**/*.test.ts"],
          exclude: ["test/limits/**", "test/shedding/**"],
        },
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
                // Above the accounts this project's other tests make in their tenant (t1).
                MAX_ACCOUNTS_PER_TENANT: "20",
              },
            },
          }),
        ],
        test: { name: "limits", testTimeout, include: ["test/limits/**/*.test.ts"] },
      },
      {
        // An upgrade rate a test can exceed with a handful of sockets.
        plugins: [cloudflareTest({ wrangler, miniflare: { bindings: { UPGRADES_PER_SECOND: "2" } } })],
        test: { name: "shedding", testTimeout, include: ["test/shedding/**/*.test.ts"] },
      },
    ],
  },
});
