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
    // One commit path (src/objects/commit.ts): events go out only after their change committed.
    files: ["src/**/*.ts"],
    ignores: ["src/objects/commit.ts", "src/**/*.test.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='broadcast']",
          message: "Events are sent by CommitPath (src/objects/commit.ts) once their change has committed.",
        },
        {
          selector: "CallExpression[callee.property.name='transactionSync']",
          message: "Run a change through CommitPath (src/objects/commit.ts), which sends its events after the commit.",
        },
      ],
    },
  },
  {
    // dependency-cruiser reads a CommonJS config.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable" } },
  },
  {
    // Tests read loosely typed JSON answers.
    files: ["test/**/*.ts", "test-node/**/*.ts", "**/*.test.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
