import { defineConfig } from "vitest/config";

// Tests that run in Node: the client adapter (unit and against the real backend
// started with wrangler) and the scripts.
export default defineConfig({
  test: {
    include: ["test-node/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
