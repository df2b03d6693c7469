// One linter for the whole tree; formatting is Prettier's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      "console/dist/",
      "console/.dist-*",
      "test-results/",
      ".wrangler/",
      "worker-configuration.d.ts",
      "bench/scratch/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // dependency-cruiser reads a CommonJS config.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable" } },
  },
  {
    // Tests read loosely typed JSON answers.
    files: ["test/**/*.ts", "test-node/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
