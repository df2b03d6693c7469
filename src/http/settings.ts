import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env";
import { requestConfig } from "../config";
import { authSecret } from "./authenticate";

/**
 * Refuses every request, the status route included, with 503 `misconfigured` while the
 * deployment is misconfigured: a deployed Worker without its own `AUTH_SECRET` of at least 32
 * bytes (`authSecret`), or a setting in `[vars]` that is not a valid number. A deploy's first
 * health check fails loudly, naming what to fix, instead of the service accepting tokens
 * anyone can sign or quietly running on other limits than written.
 * Routes read the settings from the context (`c.get("config")`).
 */
export const settingsGuard = (): MiddlewareHandler<AppEnv> => {
  return async function settingsGuard(c, next) {
    authSecret(c.env, c.req.url);
    c.set("config", requestConfig(c.env));
    await next();
  };
};
