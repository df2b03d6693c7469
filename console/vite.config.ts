import { defineConfig } from "vite";

// The console is a static bundle the Worker serves (wrangler.toml [assets]). The output
// directory is chosen by scripts/build-console.ts, which builds aside and swaps it in.
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  logLevel: "warn",
  build: {
    target: "es2022",
    // No inline <script> or data: module: the CSP allows only the console's own files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
