import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { requestConfig } from "../config";
import { authSecret } from "./auth";

/**
 * Refuses every request, the status route included, while the deployment is misconfigured:
 * production without its own `AUTH_SECRET`, or a setting in `[vars]` that is not a valid
 * number. A deploy's first health check fails loudly, naming what to fix, instead of the
 * service accepting tokens anyone can sign or quietly running on other limits than written.
 * Routes read the settings from the context (`c.get("config")`).
 */
export const settingsGuard = (): MiddlewareHandler<AppEnv> => {
  return async function settingsGuard(c, next) {
    authSecret(c.env);
    c.set("config", requestConfig(c.env));
    await next();
  };
};
