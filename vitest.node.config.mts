import { defineConfig } from "vitest/config";

// Tests that run in Node: the client's modules (beside them in client/), the adapter against
// the real backend started with wrangler, the scripts and the console.
export default defineConfig({
  test: {
    include: ["test-node/**/*.test.ts", "client/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
