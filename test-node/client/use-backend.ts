/**
 * The hooks a file (or a `describe`) of adapter tests needs: one real backend started before
 * its tests and stopped after them, and every client a test opened disconnected after it.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import type { WebSocketService } from "../../client/adapter";
import { startBackend } from "../backend";
import type { Backend } from "../backend";

export type LiveBackend = {
  /** Set once the `beforeAll` hook has run. */
  backend: Backend;
  /** Push every client a test opens; each is disconnected after the test. */
  clients: WebSocketService[];
};

/**
 * @example
 * const live = useBackend();
 * it("…", async () => { await live.backend.push("acc", {}); });
 */
export function useBackend(): LiveBackend {
  const live = { clients: [] } as unknown as LiveBackend;
  beforeAll(async () => {
    live.backend = await startBackend();
  }, 60_000);
  afterAll(async () => {
    await live.backend?.stop();
  });
  afterEach(() => {
    for (const client of live.clients.splice(0)) client.disconnect();
  });
  return live;
}
