// Which way imports go (docs/DESIGN.md, "The map"). `npm run lint` runs it; a test breaks each
// rule on purpose (test-node/import-rules.test.ts).
//
// From the bottom up: src/lib → src/contract → the shared modules at the top of src/ (auth,
// config, health, mapping, stubs) → src/objects → src/http → src/routes → src/index.ts. A module
// imports only from its own layer or the ones below it. Inside src/objects, an object's parts
// (room/, directory/) are its own: only its front door (AccountRoom.ts, Directory.ts) and its
// other parts import them; sockets/ is what both objects share.
const SHARED = "^src/(auth|config|health|mapping|stubs)[.]ts$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "A cycle means two modules cannot be read, tested or moved one without the other.",
      severity: "error",
      from: { path: "^(src|client|scripts|bench|console/src)/" },
      to: { circular: true },
    },
    {
      name: "lib-is-the-bottom",
      comment: "src/lib holds helpers that know nothing of this project: they import only each other.",
      severity: "error",
      from: { path: "^src/lib/" },
      to: { path: "^src/", pathNot: "^src/lib/" },
    },
    {
      name: "contract-imports-only-lib",
      comment: "The contract is the one definition everything else reads; it depends on nothing above it.",
      severity: "error",
      from: { path: "^src/contract/" },
      to: { path: "^src/", pathNot: "^src/(contract|lib)/" },
    },
    {
      name: "wire-builds-nothing",
      comment: "src/contract/wire.ts is what the client bundles: it imports nothing, so no zod enters a browser.",
      severity: "error",
      from: { path: "^src/contract/wire[.]ts$" },
      to: {},
    },
    {
      name: "shared-rules-stay-low",
      comment: "auth, config, health and mapping are used by the Worker and the objects alike.",
      severity: "error",
      from: { path: SHARED },
      to: { path: "^src/(objects|http|routes|index)", pathNot: "^src/(contract|lib)/" },
    },
    {
      name: "objects-never-import-http",
      comment: "A Durable Object knows nothing of Hono, routes or the Worker's entry.",
      severity: "error",
      from: { path: "^src/objects/" },
      to: { path: "^src/(http|routes)/|^src/index[.]ts$" },
    },
    {
      name: "http-below-routes",
      comment: "src/http is what every route uses; it never imports a route.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/routes/|^src/index[.]ts$" },
    },
    {
      name: "room-parts-are-private",
      comment: "Only the AccountRoom (its front door and its parts) imports src/objects/room/.",
      severity: "error",
      from: { pathNot: "^src/objects/(AccountRoom[.]ts|room/)|^test/" },
      to: { path: "^src/objects/room/" },
    },
    {
      name: "directory-parts-are-private",
      comment: "Only the Directory (its front door and its parts) imports src/objects/directory/.",
      severity: "error",
      from: { pathNot: "^src/objects/(Directory[.]ts|directory/)|^test/" },
      to: { path: "^src/objects/directory/" },
    },
    {
      name: "sockets-belong-to-the-objects",
      comment: "The socket layer both objects share is imported from inside src/objects only.",
      severity: "error",
      from: { pathNot: "^src/objects/|^test/" },
      to: { path: "^src/objects/sockets/" },
    },
    {
      name: "objects-front-doors-only",
      comment: "From outside src/objects, an object is reached through its front door.",
      severity: "error",
      from: { path: "^(src|client|scripts|bench|console/src)/", pathNot: "^src/objects/" },
      to: { path: "^src/objects/", pathNot: "^src/objects/(AccountRoom|Directory)[.]ts$" },
    },
    {
      name: "lower-layers-never-import-the-tools",
      comment: "The backend and the client never import scripts, the bench or the tests.",
      severity: "error",
      from: { path: "^(src|client|console/src)/" },
      to: { path: "^(scripts|bench|test|test-node)/" },
    },
    {
      name: "client-takes-only-types-from-src",
      comment:
        "The client bundles for a browser: from src/ it takes types only (import type), and values " +
        "only from src/contract/wire.ts, which imports nothing.",
      severity: "error",
      from: { path: "^(client|console/src)/", pathNot: "[.]test[.]ts$" },
      to: { path: "^src/", pathNot: "^src/contract/wire[.]ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "console-through-the-client",
      comment: "The console is a client of the backend like any other: it reads src/ through client/.",
      severity: "error",
      from: { path: "^console/src/" },
      to: { path: "^src/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/|^dist/|^console/dist/|^bench/scratch/" },
    // Type-only imports count: a cycle through types is still a cycle for a reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    moduleSystems: ["es6"],
  },
};
