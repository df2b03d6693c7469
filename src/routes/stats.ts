import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { unwrap } from "../contract/errors";
import { authenticate } from "../http/authenticate";
import { directoryStub } from "../stubs";

/** `GET /api/v1/stats`: the token's tenant in figures (PROTOCOL §11), from the Directory alone. */
export const stats = new Hono<AppEnv>().get("/", authenticate(["agent", "admin"]), async function tenantStats(c) {
  const claims = c.get("claims");
  return c.json(unwrap(await directoryStub(c.env, claims.tid).stats(claims.accounts)));
});
