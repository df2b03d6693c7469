import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { version } from "../../package.json";

/** `GET /api/v1/status`: no auth, no tenant data — for load balancers and humans. */
export const status = new Hono<AppEnv>().get("/", function reportStatus(c) {
  return c.json({ status: "ok", version, time: Date.now() });
});
