/**
 * Who is on a socket, as the Worker hands it to a Durable Object with the upgrade: only what
 * the Worker verified, in a header it sets itself (objects are reachable only through it).
 */
import type { Role } from "./wire";

/** The verified caller the Worker hands to an object with a WebSocket upgrade. */
export type Identity = { sub: string; tid: string; role: Role; exp: number; accounts?: string[] };

export const IDENTITY_HEADER = "x-edge-identity";

export function readIdentity(request: Request): Identity {
  return JSON.parse(request.headers.get(IDENTITY_HEADER) ?? "null") as Identity;
}
