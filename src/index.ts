/**
 * The Worker: authenticates, validates, picks the Durable Object, shapes the HTTP answer.
 * Business rules live in the objects (src/objects) and the mapping (src/mapping.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "./http/app-env";
import { ApiError } from "./contract/errors";
import { settingsGuard } from "./http/settings";
import { accounts } from "./routes/accounts";
import { commands } from "./routes/commands";
import { im } from "./routes/im";
import { stats } from "./routes/stats";
import { status } from "./routes/status";
import { sync } from "./routes/sync";
import { ws } from "./routes/ws";

export { AccountRoom } from "./objects/AccountRoom";
export { Directory } from "./objects/Directory";

const app = new Hono<AppEnv>();

app.use(settingsGuard());
app.route("/api/v1/status", status);
app.route("/api/v1/stats", stats);
app.route("/api/v1", ws);
app.route("/api/v1/accounts", sync);
app.route("/api/v1/accounts", accounts);
app.route("/api/v1/accounts", commands);
app.route("/api/im", im);

app.notFound(function notFound(c) {
  throw new ApiError("not_found", `no route ${c.req.method} ${c.req.path}`);
});

/**
 * The misconfigurations this isolate has logged. One refuses every request until it is fixed;
 * it is logged the first time, not on every request. Their messages name the setting and never
 * the request, so there are as many as there are ways this deployment is set up wrong.
 */
const loggedMisconfigurations = new Set<string>();

app.onError(function onError(error, c) {
  const known = error instanceof ApiError ? error : null;
  if (known?.code === "misconfigured") {
    if (!loggedMisconfigurations.has(known.message)) {
      loggedMisconfigurations.add(known.message);
      console.error(
        c.req.method,
        c.req.path,
        error,
        "(every request is refused 503 until this is fixed; logged once per isolate)",
      );
    }
  } else if (!known || known.code === "internal") console.error(c.req.method, c.req.path, error);
  const apiError = known ?? new ApiError("internal", "internal error");
  // The compatibility API answers errors the way the platform does.
  if (c.req.path.startsWith("/api/im/")) {
    return c.json(
      { status_code: apiError.status, status_msg: apiError.message },
      apiError.status as 400,
      apiError.headers,
    );
  }
  return c.json({ error: apiError.payload }, apiError.status as 400, apiError.headers);
});

export default app;
