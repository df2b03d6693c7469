import type { Claims } from "../auth";
import type { Config } from "../config";

/** Hono's typing for this app: the Worker's bindings and what middleware puts on the context. */
export type AppEnv = { Bindings: Env; Variables: { claims: Claims; config: Readonly<Config> } };
